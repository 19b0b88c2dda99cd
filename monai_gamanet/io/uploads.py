"""Checks on what a user hands in (photos, curve labels, names) before anything is written or run.

Used by the pipeline (:mod:`monai_gamanet.cli.pipeline`) and the MONAI Label app (``apps/spine_curve``): a photo must be
a readable RGB image of sensible size; a curve label must be a one-slice integer mask of the photo's size with few
classes, from which the spine curve is taken by segment name (3D Slicer's ``label_info`` or a ``.seg.nrrd``'s own
segment names) or, with one non-zero class, that class; ids and tags must match an allow-list pattern. Each check
raises :class:`UploadError` (a ``ValueError``) with a message naming the problem.

Photos are decoded with PIL; labels in NIfTI / NRRD (what Slicer saves) with SimpleITK, PNG with PIL. Arrays come
back in display order (H, W), as the phantom's PNG labels are stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from monai_gamanet.data.files import atomic_write
from monai_gamanet.transforms.io import CONVERTED_MODES

__all__ = [
    "LABEL_SUFFIXES",
    "MAX_PIXELS",
    "PHOTO_SUFFIXES",
    "TooLarge",
    "UnsupportedType",
    "UploadError",
    "UPLOAD_PHOTO_SUFFIXES",
    "check_depth_map",
    "check_image_id",
    "check_name",
    "check_photo",
    "photo_volume_to_png",
    "read_curve_label",
    "suffix_of",
]

PHOTO_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg")
LABEL_SUFFIXES: tuple[str, ...] = (".png", ".nii.gz", ".nii", ".seg.nrrd", ".nrrd")
MAX_PIXELS = 4096 * 4096  # a phone photo is 12 MP; more is refused before decoding (a decompression bomb)
MIN_SIDE = 32
MAX_CLASSES = 16
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")  # tags and capture names: no dots, slashes or spaces
# photo ids: also what 3D Slicer names a volume loaded from a file ("Back 2", "patient.2024-05"), which the MONAI
# Label plugin sends as the id of a specialist's own photo; never a slash, "..", or a trailing dot or space
IMAGE_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_ .()+,-]{0,126}[A-Za-z0-9_)+-])?$")
# a photo 3D Slicer saved as a volume ("Upload Volume", a session's image), converted to PNG on arrival
UPLOAD_PHOTO_SUFFIXES: tuple[str, ...] = (*PHOTO_SUFFIXES, ".nii.gz", ".nii", ".nrrd")
SPINE_WORDS = ("spine", "curve")


class UploadError(ValueError):
    """An upload or name that is refused; the message says why. ``status``: the HTTP status a server answers."""

    status = 400


class UnsupportedType(UploadError):
    """A file of a type that is not read (not a photo, label or depth map)."""

    status = 415


class TooLarge(UploadError):
    """A photo over the pixel cap."""

    status = 413


def check_name(value: object, what: str = "image id") -> str:
    """``value`` if it is a plain name (letters, digits, ``_`` and ``-``; up to 128), else :class:`UploadError`."""
    if not isinstance(value, str) or not NAME.match(value):
        raise UploadError(
            f"invalid {what} {value!r}: use letters, digits, '_' and '-' only (no dots, slashes or spaces), "
            "up to 128 characters, starting with a letter or digit."
        )
    return value


def check_image_id(value: object) -> str:
    """``value`` if it can name a photo of the studies folder (:data:`IMAGE_ID`), else :class:`UploadError`.

    Letters, digits, spaces and ``_ - . ( ) + ,`` up to 128 characters, starting with a letter or digit; no ``..``
    and no photo suffix inside (MONAI Label's datastore derives an id by deleting the suffix wherever it occurs).
    """
    text = value if isinstance(value, str) else ""
    lower = text.lower()
    if not IMAGE_ID.match(text) or ".." in text or any(s in lower for s in UPLOAD_PHOTO_SUFFIXES):
        raise UploadError(
            f"invalid image id {value!r}: use letters, digits, spaces and _ - . ( ) + , only (no slashes, '..' or "
            "file suffix), up to 128 characters, starting with a letter or digit."
        )
    return text


def suffix_of(name: str, allowed: Sequence[str], what: str = "photo") -> str:
    """The file's suffix among ``allowed`` (longest first, so ``.seg.nrrd`` before ``.nrrd``), else an error."""
    lower = name.lower()
    for suffix in sorted(allowed, key=len, reverse=True):
        if lower.endswith(suffix):
            return suffix
    shown = Path(name).name or name
    raise UnsupportedType(f"{shown} is not a {what}: expected {', '.join(allowed)}.")


def check_photo(
    path: str | Path, max_pixels: int = MAX_PIXELS, name: str | None = None, grey_ok: bool = False
) -> tuple[int, int]:
    """Refuse anything but a readable RGB photo (PNG / JPEG) of at most ``max_pixels``; returns (width, height).

    ``name`` (default: the file's name) is the name the suffix is checked on and the errors use (an upload is
    stored under a temporary name); ``grey_ok`` also accepts grey photos (the pipeline repeats the grey channel).

    Raises:
        FileNotFoundError: no such file.
        UploadError: not a PNG / JPEG, empty, not decodable, grey or with another number of channels, too small,
            or over the pixel cap.
    """
    path = Path(path)
    shown = name or path.name
    if not path.is_file():
        raise FileNotFoundError(f"photo not found: {path}")
    suffix_of(shown, PHOTO_SUFFIXES)
    if path.stat().st_size == 0:
        raise UploadError(f"{shown} is empty.")
    try:
        with Image.open(path) as img:
            width, height, mode = img.width, img.height, img.mode
            if width * height > max_pixels:
                raise TooLarge(
                    f"{shown} is {width} x {height} pixels, over the limit of {max_pixels:,} pixels: resize it first."
                )
            img.verify()
        with Image.open(path) as img:
            img.load()  # verify() does not decode the pixels: a truncated file fails only here
    except UploadError:
        raise
    except Exception as err:  # PIL raises many types; all mean "not a readable image"
        raise UploadError(f"{shown} is not a readable image (corrupt or not an image file).") from err
    if mode not in ("RGB", "RGBA", *CONVERTED_MODES, *(("L", "LA", "I", "I;16") if grey_ok else ())):
        raise UploadError(f"{shown} is a {mode} image, not an RGB photo (a grey image has no colour to learn from).")
    if min(width, height) < MIN_SIDE:
        raise UploadError(f"{shown} is {width} x {height} pixels: too small for a back photo (under {MIN_SIDE}).")
    return width, height


def photo_volume_to_png(
    path: str | Path, png: str | Path, max_pixels: int = MAX_PIXELS, name: str | None = None
) -> tuple[int, int]:
    """Write the photo 3D Slicer saved as a one-slice NIfTI / NRRD volume to ``png``, checked as every photo is;
    returns (width, height). :class:`UploadError` (nothing written) for anything but one slice of 8-bit colour."""
    from monai_gamanet.io.volumes import read_photo_volume

    shown = name or Path(path).name
    try:
        pixels = read_photo_volume(path, shown, max_pixels)
    except OverflowError as err:
        raise TooLarge(str(err)) from err
    except ValueError as err:
        raise UploadError(str(err)) from err
    atomic_write(png, lambda tmp: Image.fromarray(pixels).save(tmp, format="PNG"))
    try:
        return check_photo(png, max_pixels, name=f"{Path(shown).name.split('.')[0]}.png")
    except UploadError:
        Path(png).unlink(missing_ok=True)
        raise


def check_depth_map(path: str | Path, photo_size: tuple[int, int], name: str | None = None) -> None:
    """Refuse anything but a depth ground truth for the photo: a 16-bit one-channel PNG of the photo's size
    (millimetres from the camera, 0 = no measurement) with at least one valid pixel."""
    path = Path(path)
    shown = name or path.name
    suffix_of(shown, (".png",), "depth map (16-bit PNG)")
    try:
        with Image.open(path) as img:
            img.load()
            mode, size, array = img.mode, img.size, np.asarray(img)
    except Exception as err:
        raise UploadError(f"the depth map {shown} is not a readable PNG.") from err
    if mode not in ("I;16", "I;16B", "I") or array.ndim != 2:
        raise UploadError(f"the depth map {shown} is a {mode} PNG: expected one 16-bit channel (millimetres).")
    if tuple(size) != tuple(photo_size):
        raise UploadError(
            f"the depth map {shown} is {size[0]} x {size[1]} but its photo is {photo_size[0]} x {photo_size[1]}."
        )
    if not array.any():
        raise UploadError(f"the depth map {shown} has no valid pixel (all 0 = no measurement).")


def _read_array(path: Path, suffix: str) -> tuple[np.ndarray, dict[int, str]]:
    """The label's pixels (H, W) and any segment names it carries (value -> name), per file type."""
    if suffix == ".png":
        with Image.open(path) as img:
            if img.mode not in ("1", "L", "P", "I", "I;16"):
                raise UploadError(f"the label is a {img.mode} PNG: expected a one-channel integer mask.")
            return np.asarray(img), {}
    import SimpleITK as sitk

    image = sitk.ReadImage(str(path))
    names = {}
    if suffix == ".seg.nrrd":  # Slicer's segmentation: SegmentN_Name / SegmentN_LabelValue in the header
        keys = set(image.GetMetaDataKeys())
        for k in sorted(keys):
            if m := re.match(r"^Segment(\d+)_Name$", k):
                value = (
                    image.GetMetaData(f"Segment{m.group(1)}_LabelValue")
                    if f"Segment{m.group(1)}_LabelValue" in keys
                    else None
                )
                names[int(value) if value is not None else int(m.group(1)) + 1] = image.GetMetaData(k)
    if suffix in (".nii", ".nii.gz"):  # ITK's NIfTI reader turns NaN into 0: look at the stored values first
        import nibabel

        stored = np.asanyarray(nibabel.load(str(path)).dataobj)
        if np.issubdtype(stored.dtype, np.floating) and not np.all(np.isfinite(stored)):
            raise UploadError("the label contains NaN or infinite values.")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise UploadError("the label has several components per pixel: expected a one-channel (labelmap) mask.")
    array = sitk.GetArrayFromImage(image)  # (slices, H, W) or (H, W)
    array = array.reshape(array.shape[-2:]) if array.ndim == 3 and array.shape[0] == 1 else array
    if array.ndim != 2:
        raise UploadError(f"the label has shape {tuple(array.shape)}: expected one 2D slice.")
    return array, names


def read_curve_label(
    path: str | Path,
    photo_size: tuple[int, int] | None = None,
    label_info: Sequence[dict] | None = None,
    name: str | None = None,
) -> np.ndarray:
    """Read a curve label (PNG, one-slice NIfTI, NRRD or Slicer ``.seg.nrrd``) as a 0/1 ``uint8`` mask (H, W).

    Args:
        path: the label file.
        photo_size: (width, height) of the photo it belongs to; a label of another size is refused.
        label_info: 3D Slicer's segment list (``[{"name": ..., "idx": ...}]``, sent with a saved label): the
            segment whose name contains "spine" or "curve" is the curve.
        name: the name checked and shown in messages (default: the file's name).

    Raises:
        UploadError: unsupported type, unreadable, not one 2D slice, not integer, NaN, too many classes, another
            size than the photo, segments named but none as the spine curve, or several classes with none named
            as the spine curve.
    """
    path = Path(path)
    shown = name or path.name
    suffix = suffix_of(shown, LABEL_SUFFIXES, "curve label")
    if not path.is_file() or path.stat().st_size == 0:
        raise UploadError(f"the label {shown} is empty.")
    try:
        array, names = _read_array(path, suffix)
    except UploadError as err:
        raise UploadError(f"{shown}: {err}") from err
    except Exception as err:
        raise UploadError(f"the label {shown} is not a readable {suffix} image.") from err
    if photo_size is not None and tuple(array.shape[::-1]) != tuple(photo_size):
        w, h = array.shape[::-1]
        raise UploadError(f"the label {shown} is {w} x {h} pixels but its photo is {photo_size[0]} x {photo_size[1]}.")
    if not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.isfinite(array)):
            raise UploadError(f"the label {shown} contains NaN or infinite values.")
        if not np.array_equal(array, np.round(array)):
            raise UploadError(f"the label {shown} has fractional values: expected an integer mask.")
    values = [int(v) for v in np.unique(array) if v != 0]
    if len(values) > MAX_CLASSES or any(v < 0 for v in values):
        raise UploadError(f"the label {shown} has {len(values)} classes (or negative values): expected a curve mask.")
    for info in label_info or []:
        names.setdefault(int(info.get("idx", 0)), str(info.get("name", "")))
    spine = [v for v in values if any(w in names.get(v, "").lower() for w in SPINE_WORDS)]
    named = sorted({names[v] for v in values if names.get(v)})
    if values and named and not spine:
        raise UploadError(
            f"the label {shown} has no spine curve: its segments are named {', '.join(map(repr, named))}; name the "
            "curve's segment 'spine' (or 'spine curve')."
        )
    if len(values) > 1 and len(spine) != 1:
        raise UploadError(
            f"the label {shown} has {len(values)} classes and {'none' if not spine else 'several'} named as the "
            "spine curve: name the curve's segment 'spine' (or 'spine curve')."
        )
    chosen = spine[0] if spine else values[0] if values else None
    return (array == chosen).astype(np.uint8) if chosen is not None else np.zeros(array.shape, np.uint8)
