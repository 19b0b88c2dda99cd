"""The studies folder, checked before anything is written: MONAI Label's ``LocalDatastore`` with validated uploads.

MONAI Label 0.8.5 joins the image id, file suffix and label tag to the studies folder unchecked and stores whatever
bytes arrive. :class:`SafeDatastore` refuses, before a byte is written (each a 4xx :class:`Refused` naming the
problem): ids and tags that are not plain names (:func:`monai_gamanet.io.uploads.check_name`: no ``..``, slashes or
absolute paths), photos that are not readable RGB PNG / JPEG under the pixel cap, an id already taken, labels for an
unknown photo, curve labels that are not a one-slice integer mask of the photo's size with few classes (read from
PNG, one-slice NIfTI or NRRD, or Slicer's ``.seg.nrrd``; the curve taken by segment name), and depth labels that are
not 16-bit PNGs of the photo's size. A curve label is stored as a 0/1 PNG (what training reads), depth as sent.

Layout: photos at the top of the studies folder (every image file there is a study), labels under
``labels/<tag>/`` (``final``: curves corrected in Slicer; ``original``: saved predictions; ``depth``: depth
ground truth in millimetres, 16-bit, 0 = no measurement). A colour photo that is not RGB(A) (palette, CMYK, YCbCr,
LAB, HSV) is stored converted to an RGB(A) PNG (``<id>.png``), what 3D Slicer and the models read.

Nothing is lost when the server is killed: MONAI Label writes ``datastore_v2.json`` with ``open("w")`` and copies
photos and labels with ``shutil.copy`` (a kill can leave an empty index, which blocks every start, or a truncated
label over an acknowledged one). Here every photo, label and index is written to a temporary file beside it,
flushed to disk and renamed into place (:func:`monai_gamanet.data.files.atomic_copy`), so a crash at any moment
leaves the old file or the new one; the index written before the last is kept as ``datastore_v2.json.bak``. An
index found empty or unreadable (e.g. left by another version) is moved aside (``datastore_v2.json.corrupt-<time>``)
and rebuilt from the backup and the files on disk (photos, labels and their tags; info the backup holds), with a
warning in the log, never a refusal to start. Updates of photo or label info are read-modify-write under MONAI
Label's file lock, so the training process's scores and the server's label saves do not overwrite each other.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock
from monailabel.datastore.local import DataModel, ImageLabelModel, LocalDatastore, LocalDatastoreModel
from monailabel.interfaces.exception import ImageNotFoundException, LabelNotFoundException
from PIL import Image

from lib.errors import Refused
from monai_gamanet.data.files import atomic_copy, atomic_write
from monai_gamanet.io.uploads import (
    MAX_PIXELS,
    PHOTO_SUFFIXES,
    UPLOAD_PHOTO_SUFFIXES,
    UploadError,
    check_depth_map,
    check_image_id,
    check_name,
    check_photo,
    photo_volume_to_png,
    read_curve_label,
    suffix_of,
)
from monai_gamanet.transforms.io import CONVERTED_MODES, photo_mode

logger = logging.getLogger(__name__)

DEPTH_TAG = "depth"
EXTENSIONS = ("*.png", "*.jpg", "*.jpeg")
MAX_INFO_KEYS = 32  # per photo or label, from a client
MAX_INFO_TEXT = 1024  # characters of one value (a 900 KB params text once grew the index 50-fold)


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
        self.read_only, self._started = read_only, False
        if not read_only:
            _remove_stale_parts(Path(studies))
        super().__init__(studies, extensions=EXTENSIONS, auto_reload=auto_reload, read_only=read_only)
        self.max_pixels, self._started = max_pixels, True
        if getattr(self, "_handler", None) is not None:  # the index arrives by rename (another process's write)
            self._handler.on_moved = self._on_move_event

    # ---- the index: written atomically, rebuilt when unreadable --------------------------------------------------

    @property
    def index_path(self) -> Path:
        return Path(self._datastore_config_path)

    @property
    def backup_path(self) -> Path:
        return self.index_path.with_name(self.index_path.name + ".bak")

    def _update_datastore_file(self, lock: bool = True) -> None:
        """MONAI Label's index write, made atomic and durable (every code path of ``LocalDatastore`` calls it)."""
        if lock:
            with FileLock(self._lock_file):
                self._write_index()
        else:
            self._write_index()

    def _write_index(self) -> None:
        text = json.dumps(self._datastore.model_dump(exclude={"base_path"}), indent=2, default=str)
        index = self.index_path
        if index.is_file() and index.stat().st_size:  # keep the last index (a hard link: the file is never copied)
            link = index.with_name(f".{index.name}.{os.getpid()}.link")
            try:
                link.unlink(missing_ok=True)
                os.link(index, link)
                os.replace(link, self.backup_path)
            except OSError:  # no hard links on this file system: no backup
                link.unlink(missing_ok=True)
        atomic_write(index, lambda tmp: Path(tmp).write_text(text), durable=True)
        self._config_ts = os.stat(index).st_mtime
        self._ignore_event_config = False  # a rename is no modify event: nothing to ignore

    def _on_move_event(self, event) -> None:
        if getattr(event, "dest_path", None) == self._datastore_config_path:
            self._init_from_datastore_file()

    def _init_from_datastore_file(self, throw_exception: bool = False) -> None:
        """MONAI Label's index read (when the file changed), with an unreadable index recovered, not refused."""
        with FileLock(self._lock_file):
            recovered = self._reload_locked()
        if recovered and self._started:
            self._reconcile_datastore()  # photos and labels on disk the recovered index lacks, or lacks no more

    def _reload_locked(self) -> bool:
        """Read the index if it changed since last read (the caller holds the lock); True if it had to be rebuilt."""
        index = self.index_path
        if not index.exists():
            return False
        stamp = os.stat(index).st_mtime
        if stamp == self._config_ts:
            return False
        try:
            self._datastore = self._read_index(index)
            self._config_ts = stamp
            return False
        except (OSError, ValueError) as err:  # empty, truncated, not an index (pydantic's errors are ValueErrors)
            self._recover_locked(err)
            return True

    def _recover_locked(self, err: Exception) -> None:
        """Replace an unreadable index: by the backup if it reads, else by what is in memory (the caller holds the
        lock; the files on disk are reconciled after)."""
        index, source = self.index_path, "the files on disk"
        try:
            recovered = self._read_index(self.backup_path)
            source = f"{self.backup_path.name} and the files on disk"
        except (OSError, ValueError):
            recovered = self._datastore
            if recovered.objects:
                source = "the index in memory and the files on disk"
        recovered.base_path = self._datastore_path
        self._datastore = recovered
        if self.read_only:
            logger.warning("datastore index %s is unreadable (%s); read-only: rebuilt in memory only", index, err)
            self._config_ts = os.stat(index).st_mtime
            return
        moved = index.with_name(f"{index.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(index, moved)
        logger.warning("datastore index %s was unreadable (%s): kept as %s, rebuilt from %s", index, err, moved, source)
        self._write_index()

    def _read_index(self, path: Path) -> LocalDatastoreModel:
        model = LocalDatastoreModel.model_validate_json(path.read_text())
        model.base_path = self._datastore_path
        return model

    # ---- checks -------------------------------------------------------------------------------------------------

    def checked_id(self, image_id: object, must_exist: bool = True) -> str:
        try:
            image_id = check_image_id(image_id)
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
        """Store a checked photo under ``image_id`` (default: the file's name). A photo 3D Slicer saved as a volume
        (``.nii.gz`` / ``.nrrd``: "Upload Volume", "Submit Label" of a photo opened in Slicer) is stored as a PNG.
        Sending the same photo again under its id changes nothing (Slicer uploads a session's photo before each
        label); another photo under a taken id is refused (409)."""
        with tempfile.TemporaryDirectory(prefix="spine_curve_photo_") as tmp:
            try:
                suffix = suffix_of(image_filename, UPLOAD_PHOTO_SUFFIXES)
                image_id = image_id or Path(image_filename).name[: -len(suffix)]
                image_id = self.checked_id(image_id, must_exist=False)
                if suffix not in PHOTO_SUFFIXES:
                    png = Path(tmp) / f"{image_id}.png"
                    photo_volume_to_png(image_filename, png, self.max_pixels, name=f"{image_id}{suffix}")
                    image_filename, suffix = str(png), ".png"
                check_photo(image_filename, self.max_pixels, name=f"{image_id}{suffix}")
            except UploadError as err:
                raise Refused(err.status, str(err)) from err
            if image_id in self._datastore.objects:
                if self._same_photo(image_id, image_filename):
                    logger.info("photo %s sent again unchanged: kept as it is", image_id)
                    return image_id
                raise Refused(409, f"a different photo with id '{image_id}' exists already; choose another id.")
            info = {k: v for k, v in (image_info or {}).items() if k in ("user", "client_id")}
            with Image.open(image_filename) as img:
                mode = img.mode
            if mode not in CONVERTED_MODES:
                return self._store_image(image_id, image_filename, suffix.lower(), info)
            png = Path(tmp) / f"{image_id}.rgb.png"
            with Image.open(image_filename) as img:
                photo_mode(img).save(png, format="PNG")
            return self._store_image(image_id, str(png), ".png", info | {"converted_from": mode})

    def _same_photo(self, image_id: str, path: str) -> bool:
        """Whether the photo at ``path`` has the pixels of the stored photo ``image_id`` (RGB, as the models read)."""
        try:
            with Image.open(self.get_image_uri(image_id)) as a, Image.open(path) as b:
                return a.size == b.size and np.array_equal(np.asarray(photo_mode(a)), np.asarray(photo_mode(b)))
        except OSError:
            return False

    def _store_image(self, image_id: str, source: str, ext: str, info: dict[str, Any]) -> str:
        """MONAI Label's ``add_image`` with an atomic copy."""
        name = f"{image_id}{ext}"
        with FileLock(self._lock_file):
            atomic_copy(source, Path(self._datastore.image_path()) / name, durable=True)
            self._reload_locked()
            info = {**info, "ts": int(time.time()), "name": name}
            self._datastore.objects[image_id] = ImageLabelModel(image=DataModel(info=info, ext=ext))
            self._update_datastore_file(lock=False)
        logger.info("photo %s stored as %s", image_id, name)
        return image_id

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
                return self._store_label(image_id, label_filename, label_tag, plain_info(label_info))
            shown = f"{image_id}_label{''.join(Path(label_filename).suffixes)}"  # the upload's type, not its temp name
            mask = read_curve_label(label_filename, size, segments, name=shown)
        except UploadError as err:
            raise Refused(err.status, str(err)) from err
        with tempfile.TemporaryDirectory(prefix="spine_curve_label_") as tmp:
            png = Path(tmp) / f"{image_id}.png"
            Image.fromarray(mask).save(png)
            return self._store_label(image_id, str(png), label_tag, plain_info(label_info))

    def _store_label(self, image_id: str, source: str, tag: str, info: dict[str, Any]) -> str:
        """MONAI Label's ``save_label`` with an atomic copy (an acknowledged label is replaced whole or not at all)
        and the photo's entry looked up under the lock (the watcher may have reloaded the index meanwhile)."""
        name = f"{image_id}.png"
        folder = Path(self._datastore.label_path(tag))
        with FileLock(self._lock_file):
            folder.mkdir(parents=True, exist_ok=True)
            atomic_copy(source, folder / name, durable=True)
            self._reload_locked()
            obj = self._datastore.objects.get(image_id)
            if obj is None:
                raise ImageNotFoundException(f"Image {image_id} not found")
            obj.labels[tag] = DataModel(info={**info, "ts": int(time.time()), "name": name}, ext=".png")
            self._update_datastore_file(lock=False)
        logger.info("label %s of %s stored", tag, image_id)
        return image_id

    def update_image_info(self, image_id: str, info: dict[str, Any]) -> None:
        """MONAI Label's, read-modify-write under the lock: the latest index is updated, not this process's copy."""
        with FileLock(self._lock_file):
            self._reload_locked()
            obj = self._datastore.objects.get(image_id)
            if obj is None:
                raise ImageNotFoundException(f"Image {image_id} not found")
            obj.image.info.update(info)
            self._update_datastore_file(lock=False)

    def update_label_info(self, label_id: str, label_tag: str, info: dict[str, Any]) -> None:
        """As :meth:`update_image_info`, for a label's info."""
        with FileLock(self._lock_file):
            self._reload_locked()
            label = self._datastore.label(label_id, label_tag)
            if label is None:
                raise LabelNotFoundException(f"Label: {label_id} Tag: {label_tag} not found")
            label.info.update(info)
            self._update_datastore_file(lock=False)


def _remove_stale_parts(studies: Path, age_s: float = 60.0) -> None:
    """Temporary files (``.*.part``) a killed writer left in the studies folder or a label folder."""
    now = time.time()
    for folder in [studies, *(p for p in (studies / "labels").glob("*") if p.is_dir())]:
        for part in folder.glob(".*.part"):
            try:
                if now - part.stat().st_mtime > age_s:
                    part.unlink()
                    logger.info("removed %s, left by a writer that was stopped", part)
            except OSError:
                pass


def plain_info(info: dict[str, Any]) -> dict[str, Any]:
    """The label info kept in datastore_v2.json: at most :data:`MAX_INFO_KEYS` JSON-safe values, none longer than
    :data:`MAX_INFO_TEXT` characters (longer ones are dropped: the index is read on every start and reload)."""
    keep = {}
    for k, v in info.items():
        plain = isinstance(v, str | int | float | bool | list) or v is None
        if plain and len(str(k)) <= 128 and len(json.dumps(v, default=str)) <= MAX_INFO_TEXT:
            keep[str(k)] = v
        if len(keep) == MAX_INFO_KEYS:
            break
    return keep
