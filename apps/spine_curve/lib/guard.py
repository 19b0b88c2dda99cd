"""Close the holes MONAI Label 0.8.5 leaves open (../shared/LABEL.md), from inside the app.

Installed by :meth:`main.SpineCurveApp.on_init_complete` (the server's start-up), so that the documented command
``monailabel start_server --app apps/spine_curve ...`` is protected without another ``--uvicorn_app``:

* :class:`RouteGuard` answers 403 to the routes that change or dump the server's state (``PUT``/``DELETE /model``,
  ``POST /reload``, image and label deletions, ``/datastore/dataset``, WSI infer) unless the app's conf enables
  them, and 413 to a request body over the upload cap;
* the routes that take a client's input are the app's own (:mod:`lib.routes`, put before MONAI Label's):
  ``POST /train/{model}`` and ``/scoring/{method}`` take only ``max_epochs`` / ``device`` and never run inside the
  server process; ``POST /infer/{model}``: unknown model 404; the image must be a datastore id (404 when unknown),
  an uploaded RGB photo (validated before anything runs) or a session (``PUT /session/``: 3D Slicer's "Run" on a
  photo opened in Slicer, checked as every upload is; a ``.nii.gz`` / ``.nrrd`` volume saved by Slicer becomes a
  PNG, also in ``PUT /datastore/image``); ``params`` must be a JSON object, and any that would name a file or a
  model (``image``, ``label``, ``model_filename``, ``label_tag``, ``save_label``...) are refused with 400;
  ``POST /activelearning/{strategy}`` names the photo so that Slicer loads it alone (:mod:`lib.slicer`);
* the datastore's writes (``PUT /datastore/image``, ``/datastore/label``, ``/datastore/image/info``,
  ``/datastore/label/info``): the upload's file name is checked (no control characters, at most 255 characters, a
  known suffix) before MONAI Label would build a temporary file from it, ``params`` / ``info`` must be JSON
  objects (:func:`lib.checks.parse_object`: not a list, ``null`` or nested deeper than
  :data:`lib.checks.MAX_DEPTH`), and the info a client writes may not set what the server writes
  (:data:`lib.checks.SERVER_INFO`: the active-learning scores above all);
* a body over the upload cap is refused with 413 while it is read (chunked bodies without ``Content-Length``
  too: the reading stops at the cap); routes the app does not serve (the DICOMweb proxy: the studies are a
  folder of photos; ``/logs/gpu`` on a machine without ``nvidia-smi``) answer 404 with the reason;
* MONAI Label's own exceptions (unknown strategy, image not found, bad JSON in a form) answer 4xx, not 500.

Every refusal is an HTTP 4xx with ``{"detail": "<what is wrong>"}``; nothing is written for a refused request.
"""

from __future__ import annotations

import json
import logging
import re
import shutil

from fastapi import Depends
from fastapi.responses import JSONResponse
from monailabel.config import settings
from monailabel.endpoints.user.auth import RBAC

from lib import routes
from monai_gamanet.io.uploads import UploadError

logger = logging.getLogger(__name__)

# (method, path pattern, conf key that enables it, why it is refused by default)
REFUSED_ROUTES: list[tuple[str, str, str, str]] = [
    ("PUT", r"/model/[^/]+/?", "allow_model_upload", "uploading weights replaces the served model"),
    ("DELETE", r"/model/[^/]+/?", "allow_delete", "deleting weights"),
    ("POST", r"/reload/?", "allow_reload", "reloading the app"),
    ("DELETE", r"/datastore/(image|label)?/?", "allow_delete", "deleting photos or labels"),
    ("GET", r"/datastore/dataset/?", "allow_dataset_download", "downloading every photo as a zip"),
    ("POST", r"/infer/wsi/.*", "allow_wsi", "whole-slide inference (pathology only)"),
    ("POST", r"/infer/wsi_v2/.*", "allow_wsi", "whole-slide inference (pathology only)"),
    ("POST", r"/batch/infer/.*", "allow_batch_infer", "batch inference over the whole datastore"),
    ("POST", r"/train/?", "allow_train_all", "training every model at once; use POST /train/{model}"),
    ("POST", r"/scoring/?", "allow_train_all", "every scoring method at once; use POST /scoring/{method}"),
]
# (path pattern, why) of routes this app does not serve: 404 for every method
NOT_SERVED: list[tuple[str, str]] = [
    (r"/proxy/.*", "this server's studies are a folder of photos; there is no DICOMweb store behind it"),
]
NO_GPU_ROUTES: list[tuple[str, str]] = [(r"/logs/gpu/?", "this machine has no GPU (no nvidia-smi)")]


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
    table = fastapi_app.router.routes
    for method, path, endpoint, role in [
        ("POST", "/infer/{model}", routes.guarded_infer, user),
        ("POST", "/train/{model}", routes.guarded_train, admin),
        ("POST", "/scoring/{method}", routes.guarded_scoring, annotator),
        ("PUT", "/session/", routes.guarded_create_session, user),
        ("POST", "/activelearning/{strategy}", routes.guarded_sample, None),
        ("PUT", "/datastore/image", routes.guarded_add_image, None),
        ("PUT", "/datastore/", routes.guarded_add_image, None),  # MONAI Label's deprecated name
        ("PUT", "/datastore/label", routes.guarded_save_label, None),
        ("PUT", "/datastore/image/info", routes.guarded_image_info, None),
        ("PUT", "/datastore/label/info", routes.guarded_label_info, None),
        ("PUT", "/datastore/updatelabelinfo", routes.guarded_update_label_info, None),
    ]:
        summary = (endpoint.__doc__ or "").split(":")[0].strip("`")
        dependencies = [role] if role is not None else []  # the datastore routes take the user as a parameter
        fastapi_app.router.add_api_route(
            prefix + path, endpoint, methods=[method], dependencies=dependencies, summary=summary
        )
        table.insert(0, table.pop())  # first: it answers before MONAI Label's route (matched in order)
    for exc, handler in _exception_handlers().items():
        fastapi_app.add_exception_handler(exc, handler)
    gpu = shutil.which("nvidia-smi") is not None
    fastapi_app.middleware_stack = RouteGuard(fastapi_app.build_middleware_stack(), conf, max_bytes, prefix, gpu)
    fastapi_app.state.spine_curve_guard = True
    logger.info("spine_curve guard installed: %d routes refused", len(RouteGuard(None, conf, 0).refused))
