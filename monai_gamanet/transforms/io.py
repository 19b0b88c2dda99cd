"""Loading one back sample with MONAI's readers, with errors that say what is wrong with which file.

MONAI's ``LoadImage`` answers a missing or corrupt file with "cannot find a suitable reader"; a clinic needs to
hear which file of which sample is unreadable and why. The photo policy is applied here too:

* RGB (3 channels, 8-bit) is the contract;
* palette (256-colour), CMYK (print JPEGs), YCbCr, LAB and HSV photos are converted to RGB by PIL as they are
  decoded (:func:`photo_mode`; a palette PNG would otherwise arrive as one channel of palette indices, a CMYK
  JPEG as four channels read as RGBA);
* RGBA: the alpha channel is dropped (photos exported with transparency);
* 16-bit RGB: MONAI's PIL and ITK readers keep the high byte of each channel, i.e. convert it to 8-bit; arrays
  given directly with values above 255 are divided by 257 (the 16-bit to 8-bit mapping);
* grayscale or two-channel photos are refused: GAMA-Net reads skin colour and shading from colour photos.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

import torch
from monai.config import KeysCollection
from monai.data import PILReader
from monai.transforms import LoadImage, MapTransform, Transform
from monai.utils import convert_to_tensor

__all__ = ["CONVERTED_MODES", "LoadBackSampled", "EnsureRGB", "EnsureRGBd", "CheckSpatialShaped", "CheckPhotoSized"]

# PIL modes of a colour photo that are not RGB(A): converted as decoded (PA keeps its alpha, then dropped)
CONVERTED_MODES = {"P": "RGB", "PA": "RGBA", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB"}


def photo_mode(img):
    """A PIL photo in RGB(A) if it is a colour photo in another mode (:data:`CONVERTED_MODES`); else unchanged
    (grey photos are then refused by :class:`EnsureRGB`). MONAI's ``PILReader`` applies it as its ``converter``."""
    if img.mode == "P" and "transparency" in img.info:
        return img.convert("RGBA")
    return img.convert(CONVERTED_MODES[img.mode]) if img.mode in CONVERTED_MODES else img


class LoadBackSampled(MapTransform):
    """Load the image files of a sample (photo, depth, label) channel-first in MONAI's (C, W, H) axis order.

    Paths are read with MONAI's ``LoadImage`` (``PILReader`` by default) keeping the file's dtype, so a depth
    PNG arrives as integer millimetres, a label as its integer classes. Photos (``photo_keys``) read with the
    default reader are brought to RGB(A) as PIL decodes them (:func:`photo_mode`). Values that are not paths
    (already-loaded arrays) pass through.

    Args:
        keys: keys of the file paths to load.
        reader: MONAI image reader name or instance.
        allow_missing_keys: skip keys that are absent from the sample.
        photo_keys: the keys that hold photos (never labels: a palette label keeps its class indices).

    Raises:
        FileNotFoundError: a file does not exist (the key and path are named).
        ValueError: a file exists but is not a readable image.
    """

    def __init__(
        self,
        keys: KeysCollection = ("image", "depth", "label"),
        reader: str | object = "PILReader",
        allow_missing_keys: bool = False,
        photo_keys: KeysCollection = ("image",),
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.loader = LoadImage(reader=reader, image_only=True, ensure_channel_first=True, dtype=None)
        photo_reader = PILReader(converter=photo_mode) if reader == "PILReader" else reader
        self.photo_loader = LoadImage(reader=photo_reader, image_only=True, ensure_channel_first=True, dtype=None)
        self.photo_keys = {photo_keys} if isinstance(photo_keys, str) else set(photo_keys)

    def _load(self, key: Hashable, value: object) -> object:
        if not isinstance(value, str | os.PathLike):
            return value
        path = Path(value)
        if not path.is_file():
            raise FileNotFoundError(f"'{key}' file not found: {path}")
        try:
            return (self.photo_loader if key in self.photo_keys else self.loader)(str(path))
        except Exception as err:  # readers raise many types; all mean "not a readable image"
            raise ValueError(f"'{key}' file {path} is not a readable image (corrupt or not an image file).") from err

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self._load(key, d[key])
        return d


def _describe(img: torch.Tensor) -> str:
    name = getattr(img, "meta", {}).get("filename_or_obj", "")
    return f" ({name})" if name else ""


class EnsureRGB(Transform):
    """Bring a channel-first photo to 3 channels, float32 in [0, 255] (see the module docstring for the policy).

    Raises:
        ValueError: grayscale / two-channel / more than four channels, not channel-first 2D, or NaN / infinite values.
    """

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        img = convert_to_tensor(img, track_meta=True)
        where = _describe(img)
        if img.ndim != 3:
            raise ValueError(
                f"a photo must be a 2D image with channels first (C, W, H); got shape {tuple(img.shape)}{where}."
            )
        channels = img.shape[0]
        if channels in (1, 2):
            raise ValueError(
                f"the photo has {channels} channel(s) (grayscale){where}; an RGB colour photo is required."
            )
        if channels not in (3, 4):
            raise ValueError(f"the photo has {channels} channels{where}; expected RGB (3) or RGBA (4).")
        img = img[:3].float()
        if not torch.isfinite(img).all():
            raise ValueError(f"the photo contains NaN or infinite values{where}.")
        if img.min() < 0:
            raise ValueError(f"the photo has negative intensities{where}; expected 8-bit RGB values 0-255.")
        if img.max() > 255:
            img = img / 257.0
        return img


class EnsureRGBd(MapTransform):
    """Dictionary wrapper of :class:`EnsureRGB`."""

    def __init__(self, keys: KeysCollection = "image", allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.converter = EnsureRGB()

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.converter(d[key])
        return d


class CheckSpatialShaped(MapTransform):
    """Refuse a sample whose images are not pixel-aligned: every key must have the same spatial shape.

    Photo, depth and label of one capture share one pixel grid (the Azure Kinect SDK aligns depth to colour);
    resizing a mismatched pair would silently misalign them, so a mismatch is an error.

    Raises:
        ValueError: naming each key's spatial shape and file.
    """

    def __init__(self, keys: KeysCollection = ("image", "depth", "label"), allow_missing_keys: bool = True) -> None:
        super().__init__(keys, allow_missing_keys)

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        shapes = {key: tuple(d[key].shape[1:]) for key in self.key_iterator(d)}
        if len(set(shapes.values())) > 1:
            detail = ", ".join(f"{k} {s}{_describe(d[k])}" for k, s in shapes.items())
            raise ValueError(f"images of one sample must have the same size (W, H); got {detail}.")
        return d


class CheckPhotoSized(MapTransform):
    """Refuse photos that resizing to the working size would distort or blow up.

    The networks work on a fixed size (the paper resizes every photo to 480 x 240); a photo is accepted when its
    height/width ratio is within ``tolerance`` of the working size's and it is at least ``min_fraction`` of the
    working size in each direction.

    Args:
        keys: photo keys, channel-first (C, W, H).
        spatial_size: the working size (W, H) in MONAI's axis order, e.g. (240, 480).
        tolerance: accepted relative deviation of the aspect ratio (0.25 = 25 %).
        min_fraction: smallest accepted size as a fraction of the working size.

    Raises:
        ValueError: naming the file, its size and the working size.
    """

    def __init__(
        self,
        keys: KeysCollection = "image",
        spatial_size: Sequence[int] = (240, 480),
        tolerance: float = 0.25,
        min_fraction: float = 0.25,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.spatial_size = tuple(int(s) for s in spatial_size)
        self.tolerance, self.min_fraction = tolerance, min_fraction

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        want_w, want_h = self.spatial_size
        for key in self.key_iterator(d):
            w, h = (int(s) for s in d[key].shape[1:3])
            where = _describe(d[key])
            ratio, want = h / w, want_h / want_w
            if abs(ratio / want - 1.0) > self.tolerance:
                raise ValueError(
                    f"photo{where} is {h} x {w} (H x W, ratio {ratio:.2f}); the working size {want_h} x {want_w} "
                    f"has ratio {want:.2f}: resizing would distort it by more than {self.tolerance:.0%}. "
                    "Crop it to the back, portrait, first."
                )
            if w < want_w * self.min_fraction or h < want_h * self.min_fraction:
                raise ValueError(
                    f"photo{where} is {h} x {w} (H x W), too small for the working size {want_h} x {want_w}."
                )
        return d
