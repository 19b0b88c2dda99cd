"""Close the holes MONAI Label 0.8.5 leaves open (../shared/LABEL.md), from inside the app.

Installed by :meth:`main.SpineCurveApp.on_init_complete` (the server's start-up), so that the documented command
``monailabel start_server --app apps/spine_curve ...`` is protected without another ``--uvicorn_app``:

* :class:`RouteGuard` answers 403 to the routes that change or dump the server's state (``PUT``/``DELETE /model``,
  ``POST /reload``, image and label deletions, ``/datastore/dataset``, sessions, WSI infer) unless the app's conf
  enables them, and 413 to a request body over the upload cap;
* ``POST /train/{model}`` and ``/scoring/{method}`` (:func:`guarded_train`, :func:`guarded_scoring`) take only
  ``max_epochs`` / ``device``, never run inside the server process;
* ``POST /infer/{model}`` is served by :func:`guarded_infer`: unknown model 404; the image must be a datastore id
  (404 when unknown) or an uploaded RGB photo (validated before anything runs); ``params`` must be a JSON object,
  and any that would name a file or a model (``image``, ``label``, ``model_filename``, ``label_tag``,
  ``save_label``...) are refused with 400;
* the datastore's writes (``PUT /datastore/image``, ``/datastore/label``, ``/datastore/image/info``,
  ``/datastore/label/info``) are served by :func:`guarded_add_image`, :func:`guarded_save_label` and
  :func:`guarded_info`: the upload's file name is checked (no control characters, at most 255 characters, a known
  suffix) before MONAI Label would build a temporary file from it, ``params`` / ``info`` must be JSON objects
  (:func:`parse_object`: not a list, ``null`` or nested deeper than :data:`MAX_DEPTH`), and the info a client
  writes may not set what the server writes (:data:`SERVER_INFO`: the active-learning scores above all);
* a body over the upload cap is refused with 413 while it is read (chunked bodies without ``Content-Length``
  too: the reading stops at the cap); routes the app does not serve (the DICOMweb proxy: the studies are a
  folder of photos; ``/logs/gpu`` on a machine without ``nvidia-smi``) answer 404 with the reason;
* MONAI Label's own exceptions (unknown strategy, image not found, bad JSON in a form) answer 4xx, not 500.

Every refusal is an HTTP 4xx with ``{"detail": "<what is wrong>"}``; nothing is written for a refused request.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import BackgroundTasks, Depends, File, Form, UploadFile
from fastapi.responses import JSONResponse
from monailabel.config import settings
from monailabel.endpoints.user.auth import RBAC, User
from starlette.concurrency import run_in_threadpool

from lib.datastore import Refused, plain_info
from lib.scoring.flip_uncertainty import KEY as SCORE_KEY
from monai_gamanet.io.uploads import LABEL_SUFFIXES, PHOTO_SUFFIXES, UploadError, check_photo, suffix_of

logger = logging.getLogger(__name__)

# (method, path pattern, conf key that enables it, why it is refused by default)
REFUSED_ROUTES: list[tuple[str, str, str, str]] = [
    ("PUT", r"/model/[^/]+/?", "allow_model_upload", "uploading weights replaces the served model"),
    ("DELETE", r"/model/[^/]+/?", "allow_delete", "deleting weights"),
    ("POST", r"/reload/?", "allow_reload", "reloading the app"),
    ("DELETE", r"/datastore/(image|label)?/?", "allow_delete", "deleting photos or labels"),
    ("GET", r"/datastore/dataset/?", "allow_dataset_download", "downloading every photo as a zip"),
    ("PUT", r"/session/?", "allow_sessions", "sessions store uploads outside the studies folder"),
    ("POST", r"/infer/wsi/.*", "allow_wsi", "whole-slide inference (pathology only)"),
    ("POST", r"/infer/wsi_v2/.*", "allow_wsi", "whole-slide inference (pathology only)"),
    ("POST", r"/batch/infer/.*", "allow_batch_infer", "batch inference over the whole datastore"),
    ("POST", r"/train/?", "allow_train_all", "training every model at once; use POST /train/{model}"),
    ("POST", r"/scoring/?", "allow_train_all", "every scoring method at once; use POST /scoring/{method}"),
]
ANNOTATOR = RBAC(settings.MONAI_LABEL_AUTH_ROLE_ANNOTATOR)  # MONAI Label's role of its own datastore writes
# (path pattern, why) of routes this app does not serve: 404 for every method
NOT_SERVED: list[tuple[str, str]] = [
    (r"/proxy/.*", "this server's studies are a folder of photos; there is no DICOMweb store behind it"),
]
NO_GPU_ROUTES: list[tuple[str, str]] = [(r"/logs/gpu/?", "this machine has no GPU (no nvidia-smi)")]
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


class RouteGuard:
    """ASGI wrapper: 403 for :data:`REFUSED_ROUTES` not enabled in ``conf``, 413 for bodies over ``max_bytes``."""

    def __init__(self, app, conf: dict[str, str], max_bytes: int, prefix: str = "", gpu: bool = True) -> None:
        self.app, self.max_bytes = app, max_bytes
        enabled = lambda key: str(conf.get(key, "false")).lower() == "true"  # noqa: E731
        self.refused = [
            (m, re.compile(re.escape(prefix) + p + "$"), why, key)
            for m, p, key, why in REFUSED_ROUTES
            if not enabled(key)
        ]
        self.not_served = [
            (re.compile(re.escape(prefix) + p + "$"), why) for p, why in NOT_SERVED + ([] if gpu else NO_GPU_ROUTES)
        ]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        method, path = scope["method"], scope["path"]
        for m, pattern, why, key in self.refused:
            if method == m and pattern.match(path):
                detail = f"{method} {path} is disabled on this server ({why}); enable it with --conf {key} true."
                return await JSONResponse({"detail": detail}, status_code=403)(scope, receive, send)
        for pattern, why in self.not_served:
            if pattern.match(path):
                return await JSONResponse({"detail": f"{path} is not served: {why}."}, status_code=404)(
                    scope, receive, send
                )
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await self._too_large(scope, receive, send, f"{int(length):,} bytes")
        try:
            await self.app(scope, self._capped(scope, receive, send), self._unless_answered(scope, send))
        except Exception:
            if not scope.get("state", {}).get("spine_curve_answered"):
                raise  # the app's own error
            # the app saw the client "leave" after the guard's 413: nothing more to answer

    async def _too_large(self, scope, receive, send, size: str) -> None:
        detail = f"the request body is {size}, over this server's limit of {self.max_bytes:,} bytes."
        await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)

    def _capped(self, scope, receive, send):
        """``receive`` that counts the body as it arrives (chunked bodies have no ``Content-Length``): past the cap
        it answers 413 itself and tells the app the client left, so the app stores nothing more. What the client
        still sends is read and dropped, up to the cap once more (then the connection is closed): a client that
        sends its whole body before reading the answer (most do) still gets the 413, not a reset connection."""
        state = scope.setdefault("state", {})
        received = 0

        async def capped():
            nonlocal received
            if state.get("spine_curve_answered"):
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] != "http.request":
                return message
            received += len(message.get("body", b""))
            if received <= self.max_bytes:
                return message
            state["spine_curve_answered"] = True
            await self._too_large(scope, receive, send, f"over {self.max_bytes:,} bytes (sent without a length)")
            while message.get("more_body") and received <= 2 * self.max_bytes:
                message = await receive()
                if message["type"] != "http.request":
                    break
                received += len(message.get("body", b""))
            return {"type": "http.disconnect"}

        return capped

    @staticmethod
    def _unless_answered(scope, send):
        """``send`` that drops the app's answer once the guard has answered (413 while reading)."""

        async def guarded(message):
            if not scope.get("state", {}).get("spine_curve_answered"):
                await send(message)

        return guarded


async def off_the_loop(pool, function, *args):
    """``function(*args)`` in ``pool`` (a thread pool), awaited: the server's event loop keeps answering ``/info/``
    and the datastore routes meanwhile (MONAI Label 0.8.5 runs an infer on the loop itself, so every Slicer's panel
    waited behind every infer). ``pool`` ``None``: Starlette's shared thread pool."""
    if pool is None:
        return await run_in_threadpool(function, *args)
    return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(function, *args))


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


def _to_temp(upload: UploadFile, suffix: str) -> Path:
    """The upload's bytes in a private temporary file named by the server (``suffix``: an allowed one)."""
    fd, tmp = tempfile.mkstemp(prefix="spine_curve_upload_", suffix=suffix)
    with os.fdopen(fd, "wb") as f:
        shutil.copyfileobj(upload.file, f)
    return Path(tmp)


def _save_upload(upload: UploadFile) -> Path:
    """The uploaded photo in a private temporary file with its own suffix, checked to be a photo."""
    name, suffix = upload_name(upload.filename, "photo.png", PHOTO_SUFFIXES, "photo")
    tmp = _to_temp(upload, suffix)
    try:
        check_photo(tmp, name=name, max_pixels=_max_pixels())
    except (UploadError, FileNotFoundError) as err:
        os.unlink(tmp)
        raise Refused(err.status if isinstance(err, UploadError) else 400, str(err)) from err
    return Path(tmp)


def _max_pixels() -> int:
    from monailabel.interfaces.utils.app import app_instance

    return app_instance().datastore().max_pixels


async def guarded_infer(
    background_tasks: BackgroundTasks,
    model: str,
    image: str = "",
    session_id: str = "",
    params: str = Form("{}"),
    file: UploadFile = File(None),
    label: UploadFile = File(None),
    output: str | None = None,
):
    """``POST /infer/{model}``: MONAI Label's endpoint with every input checked first (see the module's doc)."""
    from monailabel.endpoints.infer import ResultType, send_response
    from monailabel.interfaces.utils.app import app_instance

    instance = app_instance()
    if model not in instance._infers:
        known = ", ".join(sorted(instance._infers)) or "none"
        raise Refused(404, f"unknown model '{model}'; this server has: {known}.")
    if session_id or label is not None:
        raise Refused(400, "sessions and input labels are not used by this app's models; send an image id or a photo.")
    if output not in (None, *[r.value for r in ResultType if r.value != "dicom_seg"]):
        raise Refused(400, f"output must be image, json or all, not {output!r}.")
    request = {"model": model, **clean_infer_params(parse_object(params))}
    if file is not None:
        upload = await off_the_loop(None, _save_upload, file)
        background_tasks.add_task(os.unlink, upload)
        request["image"], request["upload"] = str(upload), True
    elif image:
        request["image"] = instance.datastore().checked_id(image)
    else:
        raise Refused(400, "no image: give an image id of the studies folder or upload a photo.")
    result = await off_the_loop(instance.infer_pool, instance.infer, request)
    return send_response(instance.datastore(), result, output, background_tasks)


async def guarded_add_image(
    image: str | None = None, params: str = Form("{}"), file: UploadFile = File(...), user: User = Depends(ANNOTATOR)
):
    """``PUT /datastore/image``: MONAI Label's upload with the file name and params checked first (the photo
    itself is checked by :class:`lib.datastore.SafeDatastore` before it is stored)."""
    from monailabel.interfaces.utils.app import app_instance

    name, suffix = upload_name(file.filename, "photo.png", PHOTO_SUFFIXES, "photo")
    info = plain_info(parse_object(params)) | {"user": user.username}
    tmp = await off_the_loop(None, _to_temp, file, suffix)
    try:
        datastore = app_instance().datastore()
        image_id = await off_the_loop(None, datastore.add_image, image or name[: -len(suffix)], str(tmp), info)
    finally:
        tmp.unlink(missing_ok=True)
    return {"image": image_id}


async def guarded_save_label(
    image: str,
    params: str = Form("{}"),
    tag: str = "final",
    label: UploadFile = File(...),
    user: User = Depends(ANNOTATOR),
):
    """``PUT /datastore/label``: MONAI Label's label save with the file name and params checked first (the label
    by :class:`lib.datastore.SafeDatastore`)."""
    from monailabel.interfaces.utils.app import app_instance

    _, suffix = upload_name(label.filename, "label.nii.gz", LABEL_SUFFIXES, "curve label")
    info = parse_object(params) | {"user": user.username}
    instance = app_instance()
    instance.datastore().checked_id(image)  # 404 before the upload is read
    tmp = await off_the_loop(None, _to_temp, label, suffix)
    try:
        label_id = await off_the_loop(None, instance.datastore().save_label, image, str(tmp), tag or "final", info)
    finally:
        tmp.unlink(missing_ok=True)
    return {**(instance.on_save_label(image, label_id) or {}), "image": image, "label": label_id}


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


async def guarded_image_info(image: str, info: str = Form("{}"), user: User = Depends(ANNOTATOR)):
    """``PUT /datastore/image/info``: a known photo, info checked by :func:`client_info`."""
    from monailabel.interfaces.utils.app import app_instance

    datastore = app_instance().datastore()
    await off_the_loop(None, datastore.update_image_info, datastore.checked_id(image), client_info(info, user.username))
    return {}


async def guarded_label_info(label: str, tag: str, info: str = Form("{}"), user: User = Depends(ANNOTATOR)):
    """``PUT /datastore/label/info``: as :func:`guarded_image_info`, for a label's info."""
    from monailabel.interfaces.utils.app import app_instance

    datastore = app_instance().datastore()
    checked = datastore.checked_id(label)
    await off_the_loop(None, datastore.update_label_info, checked, tag, client_info(info, user.username))
    return {}


async def guarded_update_label_info(label: str, tag: str, params: str = Form("{}"), user: User = Depends(ANNOTATOR)):
    """``PUT /datastore/updatelabelinfo`` (MONAI Label's deprecated name of the route above)."""
    return await guarded_label_info(label, tag, params, user)


async def guarded_train(model: str, params: dict | None = None, run_sync: bool = False, enqueue: bool = False):
    """``POST /train/{model}``: a known trainer, params limited to :data:`TRAIN_PARAMS` (MONAI Label 0.8.5 passes
    a client's ``bundle_path`` on to the training process's ``PYTHONPATH``), never run inside the server, and 429
    while another run is submitted or running (never queued: ``enqueue`` is ignored)."""
    from monailabel.endpoints.train import run_model
    from monailabel.interfaces.utils.app import app_instance
    from monailabel.utils.async_tasks.utils import tasks

    instance = app_instance()
    if model not in instance._trainers:
        known = ", ".join(sorted(instance._trainers)) or "none"
        raise Refused(404, f"no trainer '{model}'; this server trains: {known}.")
    if run_sync:
        raise Refused(400, "run_sync would train inside the server process; start training and poll /train/.")
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise Refused(400, "training params must be a JSON object.")
    refused = sorted(k for k in params if k not in TRAIN_PARAMS and k != "client_id")
    if refused:
        raise Refused(400, f"training params may set only {', '.join(TRAIN_PARAMS)}; not {', '.join(refused)}.")
    epochs = params.get("max_epochs", 1)
    if not isinstance(epochs, int) or isinstance(epochs, bool) or not 1 <= epochs <= 1000:
        raise Refused(400, f"max_epochs must be a whole number from 1 to 1000, not {epochs!r}.")
    busy = [t for t in tasks("train") if t.get("status") in ("SUBMITTED", "RUNNING")]
    if busy:  # MONAI Label checks only running processes: one submitted a moment ago is not one yet
        model_busy = busy[0].get("request", {}).get("model", "a model")
        raise Refused(429, f"a training run ({model_busy}, {busy[0]['status'].lower()}) is in progress; try later.")
    return run_model(model, {k: v for k, v in params.items() if k in TRAIN_PARAMS}, False, False)


async def guarded_scoring(method: str, params: dict | None = None, run_sync: bool = False):
    """``POST /scoring/{method}``: a known method, no params but ``device`` (as for training, MONAI Label 0.8.5
    would put a client's ``bundle_path`` on the scoring process's ``PYTHONPATH``), never inside the server."""
    from monailabel.endpoints.scoring import run_method
    from monailabel.interfaces.utils.app import app_instance

    instance = app_instance()
    if method not in instance._scoring_methods:
        raise Refused(404, f"no scoring method '{method}'; this server has: {', '.join(instance._scoring_methods)}.")
    if run_sync:
        raise Refused(400, "run_sync would score inside the server process; start scoring and poll /scoring/.")
    params = {} if params is None else params
    if not isinstance(params, dict) or any(k not in ("device", "client_id") for k in params):
        raise Refused(400, "scoring params may set only device.")
    return run_method(method, {k: v for k, v in params.items() if k == "device"}, False)


def _exception_handlers() -> dict:
    from monailabel.interfaces.exception import ImageNotFoundException, LabelNotFoundException, MONAILabelException

    def answer(status: int):
        async def handler(request, exc):
            code = getattr(exc, "status", status) if isinstance(exc, UploadError) else status
            return JSONResponse({"detail": str(getattr(exc, "msg", None) or exc)}, status_code=code)

        return handler

    return {
        ImageNotFoundException: answer(404),
        LabelNotFoundException: answer(404),
        MONAILabelException: answer(400),  # unknown strategy / scoring method / trainer: the caller's mistake
        json.JSONDecodeError: answer(400),
        UploadError: answer(400),
    }


def install(fastapi_app, conf: dict[str, str], max_bytes: int) -> None:
    """Put the checked infer, train and scoring routes before MONAI Label's, add the exception handlers and wrap
    the app in :class:`RouteGuard` (once)."""
    if getattr(fastapi_app.state, "spine_curve_guard", False):
        return
    prefix = settings.MONAI_LABEL_API_STR
    # the roles of MONAI Label's own routes
    user, admin, annotator = (
        Depends(RBAC(getattr(settings, f"MONAI_LABEL_AUTH_ROLE_{role}"))) for role in ("USER", "ADMIN", "ANNOTATOR")
    )
    routes = fastapi_app.router.routes
    for method, path, endpoint, role in [
        ("POST", "/infer/{model}", guarded_infer, user),
        ("POST", "/train/{model}", guarded_train, admin),
        ("POST", "/scoring/{method}", guarded_scoring, annotator),
        ("PUT", "/datastore/image", guarded_add_image, None),
        ("PUT", "/datastore/", guarded_add_image, None),  # MONAI Label's deprecated name
        ("PUT", "/datastore/label", guarded_save_label, None),
        ("PUT", "/datastore/image/info", guarded_image_info, None),
        ("PUT", "/datastore/label/info", guarded_label_info, None),
        ("PUT", "/datastore/updatelabelinfo", guarded_update_label_info, None),
    ]:
        summary = (endpoint.__doc__ or "").split(":")[0].strip("`")
        dependencies = [role] if role is not None else []  # the datastore routes take the user as a parameter
        fastapi_app.router.add_api_route(
            prefix + path, endpoint, methods=[method], dependencies=dependencies, summary=summary
        )
        routes.insert(0, routes.pop())  # first: it answers before MONAI Label's route (matched in order)
    for exc, handler in _exception_handlers().items():
        fastapi_app.add_exception_handler(exc, handler)
    gpu = shutil.which("nvidia-smi") is not None
    fastapi_app.middleware_stack = RouteGuard(fastapi_app.build_middleware_stack(), conf, max_bytes, prefix, gpu)
    fastapi_app.state.spine_curve_guard = True
    logger.info("spine_curve guard installed: %d routes refused", len(RouteGuard(None, conf, 0).refused))
