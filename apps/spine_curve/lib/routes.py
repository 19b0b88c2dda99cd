"""The app's own versions of MONAI Label's routes that take a client's input (infer, sessions, next sample, the
datastore's writes, train, scoring): every input checked first (:mod:`lib.checks`), the work done off the server's
event loop; installed before MONAI Label's by :func:`lib.guard.install` (see its module's doc for the whole list)."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import tempfile
from pathlib import Path

from fastapi import BackgroundTasks, Depends, File, Form, UploadFile
from monailabel.config import settings
from monailabel.endpoints.user.auth import RBAC, User
from starlette.concurrency import run_in_threadpool

from lib.checks import TRAIN_PARAMS, clean_infer_params, client_info, parse_object, upload_name
from lib.datastore import plain_info
from lib.errors import Refused
from lib.slicer import sample_for_slicer
from monai_gamanet.io.uploads import (
    LABEL_SUFFIXES,
    PHOTO_SUFFIXES,
    UPLOAD_PHOTO_SUFFIXES,
    UploadError,
    check_photo,
    photo_volume_to_png,
)

ANNOTATOR = RBAC(settings.MONAI_LABEL_AUTH_ROLE_ANNOTATOR)  # MONAI Label's role of its own datastore writes
USER = RBAC(settings.MONAI_LABEL_AUTH_ROLE_USER)  # ... and of its next-sample route


async def off_the_loop(pool, function, *args):
    """``function(*args)`` in ``pool`` (a thread pool), awaited: the server's event loop keeps answering ``/info/``
    and the datastore routes meanwhile (MONAI Label 0.8.5 runs an infer on the loop itself, so every Slicer's panel
    waited behind every infer). ``pool`` ``None``: Starlette's shared thread pool."""
    if pool is None:
        return await run_in_threadpool(function, *args)
    return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(function, *args))


def _to_temp(upload: UploadFile, suffix: str) -> Path:
    """The upload's bytes in a private temporary file named by the server (``suffix``: an allowed one)."""
    fd, tmp = tempfile.mkstemp(prefix="spine_curve_upload_", suffix=suffix)
    with os.fdopen(fd, "wb") as f:
        shutil.copyfileobj(upload.file, f)
    return Path(tmp)


def _save_upload(upload: UploadFile, suffixes: tuple[str, ...] = PHOTO_SUFFIXES) -> Path:
    """The uploaded photo in a private temporary file, checked to be a photo: a PNG / JPEG keeps its suffix, a
    photo 3D Slicer saved as a volume (``suffixes`` may allow ``.nii.gz`` / ``.nrrd``) becomes a PNG."""
    name, suffix = upload_name(upload.filename, "photo.png", suffixes, "photo")
    tmp = _to_temp(upload, suffix)
    try:
        if suffix in PHOTO_SUFFIXES:
            check_photo(tmp, name=name, max_pixels=_max_pixels())
            return tmp
        png = tmp.with_name(tmp.name[: -len(suffix)] + ".png")
        try:
            photo_volume_to_png(tmp, png, _max_pixels(), name=name)
        finally:
            tmp.unlink()
        return png
    except (UploadError, FileNotFoundError) as err:
        tmp.unlink(missing_ok=True)
        raise Refused(err.status if isinstance(err, UploadError) else 400, str(err)) from err


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
    if label is not None:
        raise Refused(400, "input labels are not used by this app's models; send an image id or a photo.")
    if output not in (None, *[r.value for r in ResultType if r.value != "dicom_seg"]):
        raise Refused(400, f"output must be image, json or all, not {output!r}.")
    request = {"model": model, **clean_infer_params(parse_object(params))}
    if session_id:  # a photo opened in 3D Slicer, sent (and checked) by PUT /session/
        request["image"], request["upload"] = session_photo(instance, session_id), True
    elif file is not None:
        upload = await off_the_loop(None, _save_upload, file)
        background_tasks.add_task(os.unlink, upload)
        request["image"], request["upload"] = str(upload), True
    elif image:
        request["image"] = instance.datastore().checked_id(image)
    else:
        raise Refused(400, "no image: give an image id of the studies folder or upload a photo.")
    result = await off_the_loop(instance.infer_pool, instance.infer, request)
    return send_response(instance.datastore(), result, output, background_tasks)


def session_photo(instance, session_id: str) -> str:
    """The checked photo of a session made by :func:`guarded_create_session`; 404 when unknown or expired."""
    sessions = instance.sessions()
    info = sessions.get_session(session_id) if sessions is not None else None
    if info is None:
        raise Refused(404, f"no session '{session_id}' (expired or never made): send the photo again.")
    return info.image


async def guarded_create_session(
    background_tasks: BackgroundTasks, expiry: int = 0, files: list[UploadFile] = File(...)
):
    """``PUT /session/``: what the MONAI Label plugin calls for "Run" on a photo opened in 3D Slicer (a volume the
    datastore does not know): one photo, checked as every upload is (a ``.nii.gz`` / ``.nrrd`` volume from Slicer
    becomes a PNG), kept as MONAI Label keeps a session (``~/.cache/monailabel/sessions``, for ``expiry`` seconds
    or the server's default) for infers that name it. "Submit Label" then uploads the photo to the studies folder
    under the volume's name (``PUT /datastore/image``), where it can be trained from."""
    from monailabel.interfaces.utils.app import app_instance

    sessions = app_instance().sessions()
    if sessions is None:
        raise Refused(406, "sessions are turned off on this server (MONAI_LABEL_SESSIONS).")
    if len(files) != 1:
        raise Refused(400, f"a session holds one photo; got {len(files)} files.")
    if not isinstance(expiry, int) or not 0 <= expiry <= 7 * 24 * 3600:
        raise Refused(400, "expiry must be a number of seconds from 0 (the server's default) to a week.")
    photo = await off_the_loop(None, _save_upload, files[0], UPLOAD_PHOTO_SUFFIXES)
    try:
        session_id, info = await off_the_loop(None, sessions.add_session, str(photo), expiry)
    finally:
        photo.unlink(missing_ok=True)  # moved into the session's folder; removed here only on an error
    return {"session_id": session_id, "session_info": info.to_json()}


async def guarded_sample(strategy: str, params: dict | None = None, user: User = Depends(USER)):
    """``POST /activelearning/{strategy}``: MONAI Label's next sample (its answer carries the datastore's ``path``
    and file ``name``), named for 3D Slicer by :func:`lib.slicer.sample_for_slicer` so that Slicer loads that one
    photo and never a stack of numbered ones."""
    from monailabel.endpoints.activelearning import sample
    from monailabel.interfaces.utils.app import app_instance

    if params is not None and not isinstance(params, dict):
        raise Refused(400, "active-learning params must be a JSON object.")
    result = await off_the_loop(None, sample, strategy, params, user.username)
    if not result.get("id"):
        return result
    return sample_for_slicer(result, app_instance().datastore().get_image_uri(result["id"]))


async def guarded_add_image(
    image: str | None = None, params: str = Form("{}"), file: UploadFile = File(...), user: User = Depends(ANNOTATOR)
):
    """``PUT /datastore/image``: MONAI Label's upload with the file name and params checked first (the photo
    itself is checked by :class:`lib.datastore.SafeDatastore` before it is stored)."""
    from monailabel.interfaces.utils.app import app_instance

    name, suffix = upload_name(file.filename, "photo.png", UPLOAD_PHOTO_SUFFIXES, "photo")
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
