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
* MONAI Label's own exceptions (unknown strategy, image not found, bad JSON in a form) answer 4xx, not 500.

Every refusal is an HTTP 4xx with ``{"detail": "<what is wrong>"}``; nothing is written for a refused request.
"""

from __future__ import annotations

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

from lib.datastore import Refused
from monai_gamanet.uploads import PHOTO_SUFFIXES, UploadError, check_photo, suffix_of

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

    def __init__(self, app, conf: dict[str, str], max_bytes: int, prefix: str = "") -> None:
        self.app, self.max_bytes = app, max_bytes
        enabled = lambda key: str(conf.get(key, "false")).lower() == "true"  # noqa: E731
        self.refused = [
            (m, re.compile(re.escape(prefix) + p + "$"), why, key)
            for m, p, key, why in REFUSED_ROUTES
            if not enabled(key)
        ]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            for m, pattern, why, key in self.refused:
                if method == m and pattern.match(path):
                    detail = f"{method} {path} is disabled on this server ({why}); enable it with --conf {key} true."
                    return await JSONResponse({"detail": detail}, status_code=403)(scope, receive, send)
            length = dict(scope.get("headers") or []).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_bytes:
                detail = f"the request body is {int(length):,} bytes, over this server's limit of {self.max_bytes:,}."
                return await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)
        await self.app(scope, receive, send)


def _save_upload(upload: UploadFile) -> Path:
    """The uploaded photo in a private temporary file with its own suffix, checked to be a photo."""
    name = Path(upload.filename or "photo.png").name
    try:
        suffix = suffix_of(name, PHOTO_SUFFIXES)
    except UploadError as err:
        raise Refused(err.status, str(err)) from err
    fd, tmp = tempfile.mkstemp(prefix="spine_curve_upload_", suffix=suffix)
    with os.fdopen(fd, "wb") as f:
        shutil.copyfileobj(upload.file, f)
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
    try:
        p = json.loads(params) if params else {}
    except json.JSONDecodeError as err:
        raise Refused(400, f"params is not valid JSON: {err.msg} at character {err.pos}.") from err
    request = {"model": model, **clean_infer_params(p)}
    if file is not None:
        upload = _save_upload(file)
        background_tasks.add_task(os.unlink, upload)
        request["image"], request["upload"] = str(upload), True
    elif image:
        request["image"] = instance.datastore().checked_id(image)
    else:
        raise Refused(400, "no image: give an image id of the studies folder or upload a photo.")
    result = instance.infer(request)
    return send_response(instance.datastore(), result, output, background_tasks)


async def guarded_train(model: str, params: dict | None = None, run_sync: bool = False, enqueue: bool = False):
    """``POST /train/{model}``: a known trainer, params limited to :data:`TRAIN_PARAMS` (MONAI Label 0.8.5 passes
    a client's ``bundle_path`` on to the training process's ``PYTHONPATH``), never run inside the server."""
    from monailabel.endpoints.train import run_model
    from monailabel.interfaces.utils.app import app_instance

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
    return run_model(model, {k: v for k, v in params.items() if k in TRAIN_PARAMS}, False, enqueue)


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
    from monailabel.config import settings
    from monailabel.endpoints.user.auth import RBAC

    if getattr(fastapi_app.state, "spine_curve_guard", False):
        return
    prefix = settings.MONAI_LABEL_API_STR
    # the roles of MONAI Label's own routes
    user, admin, annotator = (
        Depends(RBAC(getattr(settings, f"MONAI_LABEL_AUTH_ROLE_{role}"))) for role in ("USER", "ADMIN", "ANNOTATOR")
    )
    routes = fastapi_app.router.routes
    for path, endpoint, role in [
        (f"{prefix}/infer/{{model}}", guarded_infer, user),
        (f"{prefix}/train/{{model}}", guarded_train, admin),
        (f"{prefix}/scoring/{{method}}", guarded_scoring, annotator),
    ]:
        summary = (endpoint.__doc__ or "").split(":")[0].strip("`")
        fastapi_app.router.add_api_route(path, endpoint, methods=["POST"], dependencies=[role], summary=summary)
        routes.insert(0, routes.pop())  # first: it answers before MONAI Label's route (matched in order)
    for exc, handler in _exception_handlers().items():
        fastapi_app.add_exception_handler(exc, handler)
    fastapi_app.middleware_stack = RouteGuard(fastapi_app.build_middleware_stack(), conf, max_bytes, prefix)
    fastapi_app.state.spine_curve_guard = True
    logger.info("spine_curve guard installed: %d routes refused", len(RouteGuard(None, conf, 0).refused))
