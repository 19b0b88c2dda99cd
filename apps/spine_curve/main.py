"""MONAI Label app: serves monai-gamanet's two bundles to 3D Slicer for spine-curve correction and retraining.

    monailabel start_server --app apps/spine_curve --studies STUDIES --host 127.0.0.1 --port 8000 \\
        [--conf device cpu|cuda|auto] [--conf depth_bundle DIR] [--conf curve_bundle DIR]

Models (from ``bundles/``, never copied; listed once trained weights exist): ``spine_curve`` (photo -> depth -> RGBD
-> curve label, with the morphology report in the result JSON) and ``spine_curve_markups`` (the same chain answered
with the Slicer markups curve), both type segmentation, the type 3D Slicer's panel lists; ``back_depth`` (type
"others": the depth image, fetched with the client or curl). The studies folder holds the photos
(PNG / JPEG) at its top; labels go under ``labels/<tag>/`` (depth ground truth under ``labels/depth/``).

Conf (``--conf key value``): ``device`` (``auto``: a GPU when present), ``depth_bundle`` / ``curve_bundle`` (trained
bundle folders), ``depth_overrides`` / ``curve_overrides`` (JSON: config settings the models were trained with),
``max_pixels`` (largest photo), ``max_upload_mb``, ``infer_workers`` (infers at once, default 1), and
``allow_model_upload``, ``allow_reload``, ``allow_delete``, ``allow_dataset_download``,
``allow_batch_infer`` (each ``false`` unless set ``true``); see ``lib/guard.py`` (and ``lib/routes.py``) and the README.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from monailabel.config import settings
from monailabel.interfaces.app import MONAILabelApp
from monailabel.tasks.activelearning.first import First
from monailabel.tasks.activelearning.random import Random

import monai_gamanet
from lib.checks import INFER_PARAMS, choose_device, clean_infer_params
from lib.configs.back_depth import BackDepthConfig
from lib.configs.served import ServedModels
from lib.configs.spine_curve import SpineCurveConfig
from lib.datastore import SafeDatastore
from lib.errors import Refused
from lib.guard import install
from monai_gamanet.inference.bundles import BUNDLES, ReloadingModel
from monai_gamanet.io.uploads import MAX_PIXELS, UploadError, check_photo

logger = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")


def _json_conf(conf: dict[str, str], key: str) -> dict:
    try:
        value = json.loads(conf.get(key, "{}"))
    except json.JSONDecodeError as err:
        raise ValueError(f"--conf {key} must be a JSON object: {err}") from err
    if not isinstance(value, dict):
        raise ValueError(f"--conf {key} must be a JSON object.")
    return value


class SpineCurveApp(MONAILabelApp):
    def __init__(self, app_dir: str, studies: str, conf: dict[str, str]) -> None:
        from monai_gamanet.inference.curve import CurvePredictor
        from monai_gamanet.inference.depth import DepthPredictor

        self.device = conf.get("device", "auto").lower()
        if self.device not in DEVICES:
            raise ValueError(f"--conf device must be one of {', '.join(DEVICES)}, not {self.device!r}.")
        self.max_pixels = int(conf.get("max_pixels", MAX_PIXELS))
        self.max_bytes = int(float(conf.get("max_upload_mb", 64)) * 2**20)
        # infers run here, off the server's event loop, one at a time unless told (two at once on one GPU can run
        # out of its memory; on a CPU they share its cores): /info/ and the datastore answer meanwhile
        self.infer_pool = ThreadPoolExecutor(int(conf.get("infer_workers", 1)), thread_name_prefix="spine_curve_infer")
        overrides = {"depth": _json_conf(conf, "depth_overrides"), "curve": _json_conf(conf, "curve_overrides")}
        self.models = ServedModels(
            depth=ReloadingModel(
                DepthPredictor.from_bundle,
                Path(conf.get("depth_bundle", BUNDLES / "back_depth_estimation")).resolve(),
                overrides["depth"],
            ),
            curve=ReloadingModel(
                CurvePredictor.from_bundle,
                Path(conf.get("curve_bundle", BUNDLES / "spine_curve_segmentation")).resolve(),
                overrides["curve"],
            ),
            overrides=overrides,
            device_for=self.device_for,
        )
        work_dir = conf.get("work_dir", os.path.join(app_dir, "model"))  # training runs and their statistics
        # spine_curve first: Slicer's progress and accuracy bars read the first trainer's train_stats
        self.task_configs = {"spine_curve": SpineCurveConfig(self.models), "back_depth": BackDepthConfig(self.models)}
        for name, task_config in self.task_configs.items():
            task_config.init(name, work_dir, conf, None)
        super().__init__(
            app_dir=app_dir,
            studies=studies,
            conf=conf,
            name="Spine curve (monai-gamanet)",
            description="Back photo -> estimated depth -> coronal spine curve, Cobb angle and severity",
            version=monai_gamanet.__version__,
            labels={"spine": 1},
        )
        # scoring runs after training (train() below), not after every next-sample request as MONAI Label's default
        self._auto_update_scoring = False

    # ---- tasks ----------------------------------------------------------------------------------------------------

    def init_datastore(self) -> SafeDatastore:
        logger.info("studies folder: %s", self.studies)
        return SafeDatastore(
            self.studies,
            self.max_pixels,
            read_only=settings.MONAI_LABEL_DATASTORE_READ_ONLY,
            auto_reload=settings.MONAI_LABEL_DATASTORE_AUTO_RELOAD,
        )

    def init_infers(self) -> dict:
        infers = {}
        for task_config in self.task_configs.values():
            infers.update(task_config.infer())
        return infers

    def init_trainers(self) -> dict:
        trainers = {}
        for name, task_config in self.task_configs.items():
            if (trainer := task_config.trainer()) is not None:
                trainers[name] = trainer
        return trainers

    def init_strategies(self) -> dict:
        strategies = {"random": Random(), "first": First()}
        for task_config in self.task_configs.values():
            strategies.update(task_config.strategy() or {})
        return strategies

    def init_scoring_methods(self) -> dict:
        methods = {}
        for task_config in self.task_configs.values():
            methods.update(task_config.scoring_method() or {})
        return methods

    # ---- requests -------------------------------------------------------------------------------------------------

    def on_init_complete(self) -> None:
        from monailabel.app import app as fastapi_app

        install(fastapi_app, self.conf, self.max_bytes)
        super().on_init_complete()

    def info(self) -> dict:
        """MONAI Label's info, with the trainer that is training first in ``train_stats``: Slicer's progress and
        accuracy bars read only the first entry (otherwise always ``spine_curve``'s, also while ``back_depth``
        trains), and read a ``total_time`` as "finished" (so a starting run showed the last run's stats, 1 %)."""
        from monailabel.utils.async_tasks.utils import tasks

        meta = super().info()
        running = [t["request"] for t in tasks("train") if t.get("status") in ("SUBMITTED", "RUNNING")]
        stats = meta.get("train_stats") or {}
        if running and running[0].get("model") in stats:
            model = running[0]["model"]
            current = stats[model]
            if current.get("status") != "training":  # its process is starting: not the last run's finished stats
                epochs = running[0].get("max_epochs", self._trainers[model].config().get("max_epochs", 1))
                current = {"epoch": 0, "total_epochs": epochs, "status": "starting"}
            meta["train_stats"] = {model: current, **{k: v for k, v in stats.items() if k != model}}
        return meta

    def train(self, request: dict) -> dict:
        """Train (in MONAI Label's training process), then score the unlabelled photos with the new model there.

        A scoring that fails is logged and leaves the training's result as it is (the new model is served either
        way); the photos keep their previous scores."""
        result = super().train(request)
        for method in self._scoring_methods:
            try:
                self.scoring({"method": method, "device": request.get("device")})
            except Exception:  # noqa: BLE001 (logged with its traceback: the training itself succeeded)
                logger.exception("scoring %s after training failed; the photos keep their previous scores", method)
        return result

    def device_for(self, asked: object = None) -> str:
        """The device of a request: the conf's, or with ``auto`` the client's choice where valid, else a GPU when
        present (:func:`lib.checks.choose_device`)."""
        return choose_device(self.device, asked, torch.cuda.is_available())

    def infer(self, request: dict, datastore=None) -> dict:
        """Every infer, from any route: known model, an image id of the studies folder or a checked upload, params
        limited to :data:`lib.checks.INFER_PARAMS`, the device the conf allows; labels are never saved by infer."""
        model = request.get("model")
        if model not in self._infers:
            raise Refused(404, f"unknown model '{model}'; this server has: {', '.join(sorted(self._infers))}.")
        params = clean_infer_params({k: v for k, v in request.items() if k in INFER_PARAMS})
        clean = {"model": model, **params, "device": self.device_for(params.get("device")), "save_label": False}
        if request.get("upload") is True and Path(str(request.get("image"))).is_file():
            clean["image"] = str(request["image"])  # set only by lib.guard after the photo was checked
        else:
            image_id = self.datastore().checked_id(request.get("image"))
            photo = self.datastore().get_image_uri(image_id)
            try:  # a file put into the studies folder by hand is checked here (uploads were checked on arrival)
                check_photo(photo, self.max_pixels, name=Path(photo).name)
            except (UploadError, FileNotFoundError) as err:
                raise Refused(422, f"the photo '{image_id}' of the studies folder cannot be used: {err}") from err
            clean |= {"image": photo, "image_id": image_id}
        return super().infer(clean, datastore)
