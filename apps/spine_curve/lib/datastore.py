"""The studies folder, checked before anything is written: MONAI Label's ``LocalDatastore`` with validated uploads.

MONAI Label 0.8.5 joins the image id, file suffix and label tag to the studies folder unchecked and stores whatever
bytes arrive. :class:`SafeDatastore` refuses, before a byte is written (each a 4xx :class:`Refused` naming the
problem): ids and tags that are not plain names (:func:`monai_gamanet.uploads.check_name`: no ``..``, slashes or
absolute paths), photos that are not readable RGB PNG / JPEG under the pixel cap, an id already taken, labels for an
unknown photo, curve labels that are not a one-slice integer mask of the photo's size with few classes (read from
PNG, one-slice NIfTI or NRRD, or Slicer's ``.seg.nrrd``; the curve taken by segment name), and depth labels that are
not 16-bit PNGs of the photo's size. A curve label is stored as a 0/1 PNG (what training reads), depth as sent.

Layout: photos at the top of the studies folder (every image file there is a study), labels under
``labels/<tag>/`` (``final``: curves corrected in Slicer; ``original``: saved predictions; ``depth``: depth
ground truth in millimetres, 16-bit, 0 = no measurement).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from monailabel.datastore.local import LocalDatastore
from PIL import Image

from monai_gamanet.uploads import (
    MAX_PIXELS,
    PHOTO_SUFFIXES,
    UploadError,
    check_depth_map,
    check_name,
    check_photo,
    read_curve_label,
    suffix_of,
)

logger = logging.getLogger(__name__)

DEPTH_TAG = "depth"
EXTENSIONS = ("*.png", "*.jpg", "*.jpeg")


class Refused(HTTPException):
    """A request refused with a 4xx status and a message naming the problem (FastAPI answers it as such)."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(status_code=status_code, detail=detail)


class SafeDatastore(LocalDatastore):
    """``LocalDatastore`` over the studies folder (PNG / JPEG photos) that validates every write first.

    Args:
        studies: the studies folder.
        max_pixels: largest photo accepted (width x height).
        read_only: MONAI Label's read-only mode (no labels saved).
        auto_reload: follow changes made by other processes (the training process writes the scores).
    """

    def __init__(
        self, studies: str, max_pixels: int = MAX_PIXELS, read_only: bool = False, auto_reload: bool = True
    ) -> None:
        super().__init__(studies, extensions=EXTENSIONS, auto_reload=auto_reload, read_only=read_only)
        self.max_pixels = max_pixels

    # ---- checks -------------------------------------------------------------------------------------------------

    def checked_id(self, image_id: object, must_exist: bool = True) -> str:
        try:
            image_id = check_name(image_id, "image id")
        except UploadError as err:
            raise Refused(400, str(err)) from err
        if must_exist and image_id not in self._datastore.objects:
            raise Refused(404, f"no photo with id '{image_id}' in the studies folder.")
        return image_id

    def photo_size(self, image_id: str) -> tuple[int, int]:
        with Image.open(self.get_image_uri(image_id)) as img:
            return img.width, img.height

    def labelled_files(self, tag: str) -> dict[str, tuple[str, str]]:
        """Photos that have a label under ``tag``: image id -> (photo path, label path), read from the files on disk.

        Not from MONAI Label's in-memory index: its file watcher rebuilds that index in place whenever the studies
        folder changes (it clears each photo's labels, then puts back those whose files exist), so a reader in
        another thread can see a labelled photo without its label for a moment (measured on a busy machine: a
        training run found 1 of 3 depth labels). Labels are stored as ``labels/<tag>/<id>.png`` by this datastore.
        """
        folder = Path(self._datastore.label_path(tag))
        studies = Path(self._datastore.image_path())
        found = {}
        for label in sorted(folder.glob("*.png")) if folder.is_dir() else []:
            photos = [studies / f"{label.stem}{suffix}" for suffix in PHOTO_SUFFIXES]
            photo = next((p for p in photos if p.is_file()), None)
            if photo is not None:
                found[label.stem] = (str(photo), str(label))
        return found

    # ---- writes -------------------------------------------------------------------------------------------------

    def add_image(self, image_id: str, image_filename: str, image_info: dict[str, Any]) -> str:
        try:
            suffix = suffix_of(image_filename, PHOTO_SUFFIXES)
            image_id = image_id or Path(image_filename).name[: -len(suffix)]
            image_id = self.checked_id(image_id, must_exist=False)
            if image_id in self._datastore.objects:
                raise Refused(409, f"a photo with id '{image_id}' exists already; choose another id.")
            check_photo(image_filename, self.max_pixels, name=f"{image_id}{suffix}")
        except UploadError as err:
            raise Refused(err.status, str(err)) from err
        info = {k: v for k, v in (image_info or {}).items() if k in ("user", "client_id")}
        return super().add_image(image_id, image_filename, info)

    def save_label(self, image_id: str, label_filename: str, label_tag: str, label_info: dict[str, Any]) -> str:
        image_id = self.checked_id(image_id)
        try:
            label_tag = check_name(label_tag, "label tag")
        except UploadError as err:
            raise Refused(400, str(err)) from err
        size = self.photo_size(image_id)
        label_info = dict(label_info or {})
        segments = label_info.get("label_info")
        segments = [s for s in segments if isinstance(s, dict)] if isinstance(segments, list) else None
        try:
            if label_tag == DEPTH_TAG:
                shown = f"{image_id}_depth{''.join(Path(label_filename).suffixes)}"
                check_depth_map(label_filename, size, name=shown)
                return super().save_label(image_id, label_filename, label_tag, _plain(label_info))
            shown = f"{image_id}_label{''.join(Path(label_filename).suffixes)}"  # the upload's type, not its temp name
            mask = read_curve_label(label_filename, size, segments, name=shown)
        except UploadError as err:
            raise Refused(err.status, str(err)) from err
        with tempfile.TemporaryDirectory(prefix="spine_curve_label_") as tmp:
            png = Path(tmp) / f"{image_id}.png"
            Image.fromarray(mask).save(png)
            return super().save_label(image_id, str(png), label_tag, _plain(label_info))


def _plain(info: dict[str, Any]) -> dict[str, Any]:
    """The label info kept in datastore_v2.json: JSON-safe values only."""
    keep = {}
    for k, v in info.items():
        if isinstance(v, str | int | float | bool) or v is None or (isinstance(v, list) and len(str(v)) < 4096):
            keep[str(k)] = v
    return keep
