"""What a client may send, checked before anything runs: JSON params and info, infer and training params, upload
file names, the device of a request (used by :mod:`lib.routes` and the app's ``infer``)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from lib.datastore import plain_info
from lib.errors import Refused
from lib.scoring.flip_uncertainty import KEY as SCORE_KEY
from monai_gamanet.io.uploads import UploadError, suffix_of

MAX_DEPTH = 16  # nesting of a client's JSON params / info
MAX_NAME = 255  # characters of an upload's file name
# info keys only the server writes: the scores active learning ranks by, MONAI Label's own bookkeeping
SERVER_INFO = ("ts", "name", "checksum", "strategy", "converted_from", SCORE_KEY, "epistemic")
TRAIN_PARAMS = ("max_epochs",)  # what a client may set for training (MONAI Label would pass anything on)
# infer params a client may set (anything else is dropped; the refused ones are an error)
INFER_PARAMS = {
    "result_extension": (".nrrd", ".nii.gz", ".nii", ".png"),
    "result_dtype": ("uint8", "uint16", "float32"),
    "result_compress": None,
    "client_id": None,
    "label_info": None,
    "spacing": None,
    "depth_range_mm": None,
    "surface": None,
    "device": None,
    "restore_label_idx": None,
}
REFUSED_PARAMS = (
    "image",
    "image_path",
    "label",
    "file",
    "model",
    "model_filename",
    "label_tag",
    "save_label",
    "result_write_to_file",
    "skip_writer",
    "session",
    "logging",
)


def parse_object(text: str | None, what: str = "params") -> dict[str, Any]:
    """A client's JSON form field as a dict (``""`` / absent: ``{}``); 400 for bad JSON, anything but an object
    (a list, ``null``, a number) and nesting deeper than :data:`MAX_DEPTH`."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise Refused(400, f"{what} is not valid JSON: {err.msg} at character {err.pos}.") from err
    except RecursionError as err:
        raise Refused(400, f"{what} is nested too deeply (at most {MAX_DEPTH} levels).") from err
    if not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__
        raise Refused(400, f"{what} must be a JSON object, not {kind}.")
    stack, depth = [(value, 1)], 1
    while stack:
        item, level = stack.pop()
        depth = max(depth, level)
        if depth > MAX_DEPTH:
            raise Refused(400, f"{what} is nested too deeply (at most {MAX_DEPTH} levels).")
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((c, level + 1) for c in children if isinstance(c, dict | list))
    return value


def clean_infer_params(params: Any) -> dict[str, Any]:
    """The client's infer ``params`` reduced to what it may set; refuses those that name files or models."""
    if not isinstance(params, dict):
        raise Refused(400, "params must be a JSON object.")
    named = sorted(k for k in params if k in REFUSED_PARAMS)
    if named:
        raise Refused(400, f"infer params may not set {', '.join(named)}: the server chooses files and models.")
    clean = {}
    for key, value in params.items():
        if key not in INFER_PARAMS:
            continue  # e.g. options of other models Slicer sends along: ignored
        allowed = INFER_PARAMS[key]
        if allowed is not None and value not in allowed:
            raise Refused(400, f"params.{key} must be one of {', '.join(allowed)}, not {value!r}.")
        if key in ("spacing", "depth_range_mm"):
            number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
            if number is None or not math.isfinite(number) or not 0 < number <= (10.0 if key == "spacing" else 2000):
                raise Refused(400, f"params.{key} must be a positive number of millimetres, not {value!r}.")
        clean[key] = value
    return clean


def choose_device(setting: str, asked: object, cuda: bool) -> str:
    """``setting`` (the app's ``--conf device``) ``cpu`` or ``cuda`` forces that device (``cuda`` without a GPU is
    a 503); ``auto`` takes the client's ``cpu`` / ``cuda`` where possible, else a GPU when there is one."""
    if setting == "cuda" and not cuda:
        raise Refused(503, "this server is configured for a GPU (--conf device cuda) but none is available.")
    if setting != "auto":
        return setting
    if asked == "cpu" or (asked == "cuda" and cuda):
        return str(asked)
    return "cuda" if cuda else "cpu"


def upload_name(filename: str | None, default: str, suffixes: tuple[str, ...], what: str) -> tuple[str, str]:
    """The base name of an upload and its suffix among ``suffixes``; 400 for control characters (NUL...) or a name
    over :data:`MAX_NAME` characters, 415 for another type (checked before any file is named after it)."""
    name = Path(filename or default).name
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise Refused(400, f"the {what}'s file name {name!r} contains control characters.")
    if len(name) > MAX_NAME:
        raise Refused(400, f"the {what}'s file name is {len(name)} characters long (at most {MAX_NAME}).")
    try:
        return name, suffix_of(name, suffixes, what)
    except UploadError as err:
        raise Refused(err.status, str(err)) from err


def client_info(text: str | None, user: str | None) -> dict[str, Any]:
    """The info a client may write: a JSON object without the keys the server writes (:data:`SERVER_INFO`), each
    value JSON-safe and short."""
    info = parse_object(text, "info")
    owned = sorted(k for k in info if any(k == key or k.startswith(f"{key}_") for key in SERVER_INFO))
    if owned:
        raise Refused(400, f"info may not set {', '.join(owned)}: the server writes these (active-learning scores).")
    kept = plain_info(info)
    if dropped := sorted(set(info) - set(kept)):
        raise Refused(400, f"info values too long or not plain JSON: {', '.join(map(str, dropped[:5]))}.")
    return kept | ({"user": user} if user else {})
