"""Import Azure Kinect captures into a MONAI Label studies folder (the layout ``apps/spine_curve`` serves).

    python -m monai_gamanet.cli.kinect CAPTURES --studies STUDIES [--dry-run]   (monai_gamanet.cli.kinect)

``CAPTURES`` holds, per capture ``NAME``, either in sub-folders::

    color/NAME.png (or .jpg)      the RGB photo (or images/NAME.png, as the synthetic phantom)
    depth/NAME.png                16-bit depth in millimetres aligned to the photo (0 = no measurement)
    labels/NAME.png               optional: the spine curve drawn as a band (any non-zero value = curve)

or side by side: ``NAME_color.png``, ``NAME_depth.png``, ``NAME_label.png``. In ``STUDIES`` each capture becomes
the photo ``NAME.png`` (or ``.jpg``) at the top, its depth the label ``labels/depth/NAME.png`` and its curve the
label ``labels/final/NAME.png`` (0/1): depth never sits beside the photos, where MONAI Label would take it for a
study.

Every capture is checked before anything is written: a readable RGB photo, a 16-bit depth map of the photo's size
with valid pixels, a label of the photo's size (:mod:`monai_gamanet.io.uploads`), a plain name, no photo of that name
in the studies folder yet. A capture with a missing partner (photo without depth, depth without photo), a wrong
size or a bad file is reported and skipped as a whole; the others are imported, each file written to a temporary
name and renamed into place, labels before the photo, so a capture is never half there. Exit status 1 when any
capture was skipped.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from monai_gamanet.data.files import atomic_write
from monai_gamanet.io.uploads import (
    PHOTO_SUFFIXES,
    UploadError,
    check_depth_map,
    check_name,
    check_photo,
    read_curve_label,
)

__all__ = ["Capture", "find_captures", "import_captures"]

logger = logging.getLogger("monai_gamanet.data.kinect")

DEPTH_TAG, CURVE_TAG = "depth", "final"


@dataclass
class Capture:
    name: str
    photo: Path | None = None
    depth: Path | None = None
    label: Path | None = None
    problems: list[str] = field(default_factory=list)


def _stem(path: Path, suffix: str) -> str | None:
    return path.stem[: -len(suffix)] if path.stem.endswith(suffix) else None


def _accepts(key: str, path: Path) -> bool:
    """Photos may be PNG or JPEG; depth maps and labels are PNG."""
    return path.suffix.lower() in (PHOTO_SUFFIXES if key == "photo" else (".png",))


def find_captures(folder: str | Path) -> dict[str, Capture]:
    """The captures of ``folder`` by name (sub-folder or side-by-side layout), partners matched by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no captures folder {folder}")
    captures: dict[str, Capture] = {}

    def add(name: str, key: str, path: Path) -> None:
        capture = captures.setdefault(name, Capture(name))
        if getattr(capture, key) is not None:
            capture.problems.append(f"two {key} files ({getattr(capture, key).name}, {path.name})")
        setattr(capture, key, path)

    photos = "color" if (folder / "color").is_dir() else "images" if (folder / "images").is_dir() else None
    if photos is not None:  # images/ too: the synthetic phantom's own layout
        for key, sub in (("photo", photos), ("depth", "depth"), ("label", "labels")):
            for path in sorted((folder / sub).glob("*")) if (folder / sub).is_dir() else []:
                if path.is_file() and _accepts(key, path):
                    add(path.stem, key, path)
    else:
        for path in sorted(folder.iterdir()):
            if not path.is_file():
                continue
            for key, suffix in (("photo", "_color"), ("depth", "_depth"), ("label", "_label")):
                name = _stem(path, suffix)
                if name and _accepts(key, path):
                    add(name, key, path)
    return captures


def check_capture(capture: Capture, studies: Path) -> None:
    """Record in ``capture.problems`` everything that keeps it from being imported (nothing is written)."""
    try:
        check_name(capture.name, "capture name")
    except UploadError as err:
        capture.problems.append(str(err))
    if capture.photo is None:
        capture.problems.append("no photo (its depth or label has no partner)")
    if capture.depth is None:
        capture.problems.append("no depth map")
    if capture.problems:
        return
    if any((studies / f"{capture.name}{s}").exists() for s in PHOTO_SUFFIXES):
        capture.problems.append(f"a photo named {capture.name} is already in the studies folder")
        return
    try:
        size = check_photo(capture.photo)
        check_depth_map(capture.depth, size)
        if capture.label is not None:
            read_curve_label(capture.label, size)
    except (UploadError, FileNotFoundError) as err:
        capture.problems.append(str(err))


def _write_capture(capture: Capture, studies: Path) -> None:
    """Labels first, the photo last, each file atomically: a capture appears whole or not at all."""
    depth_dest = studies / "labels" / DEPTH_TAG / f"{capture.name}.png"
    atomic_write(depth_dest, lambda tmp: shutil.copyfile(capture.depth, tmp))
    if capture.label is not None:
        with Image.open(capture.photo) as img:
            size = img.size
        mask = read_curve_label(capture.label, size)
        dest = studies / "labels" / CURVE_TAG / f"{capture.name}.png"
        atomic_write(dest, lambda tmp: Image.fromarray(mask).save(tmp, format="PNG"))
    suffix = ".png" if capture.photo.suffix.lower() == ".png" else capture.photo.suffix.lower()
    atomic_write(studies / f"{capture.name}{suffix}", lambda tmp: shutil.copyfile(capture.photo, tmp))


def import_captures(captures_dir: str | Path, studies: str | Path, dry_run: bool = False, curves: bool = True) -> dict:
    """Check every capture, import the good ones; returns ``{"imported": [...], "skipped": {name: [why]}}``.

    ``curves=False`` leaves the curve labels out (photos to be labelled, e.g. a demo of correcting in Slicer).
    """
    studies = Path(studies)
    captures = find_captures(captures_dir)  # a missing captures folder: refused before anything is made
    if not dry_run:
        studies.mkdir(parents=True, exist_ok=True)
    if not curves:
        for capture in captures.values():
            capture.label = None
    for capture in captures.values():
        check_capture(capture, studies)
    good = [c for c in captures.values() if not c.problems]
    if not dry_run:
        for k, capture in enumerate(good, 1):
            _write_capture(capture, studies)
            if k % 20 == 0 or k == len(good):
                logger.info("imported %d / %d captures", k, len(good))
    return {
        "imported": [c.name for c in good],
        "with_curve_label": [c.name for c in good if c.label is not None],
        "skipped": {c.name: c.problems for c in captures.values() if c.problems},
        "dry_run": dry_run,
    }
