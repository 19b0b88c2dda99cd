"""``spine_curve`` and ``spine_curve_markups``: photo -> depth -> RGBD -> the spine_curve_segmentation U-Net."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monailabel.interfaces.config import TaskConfig
from monailabel.tasks.activelearning.epistemic import Epistemic

from lib.infers.spine_curve import BackDepth, SpineCurve, SpineCurveMarkups
from lib.scoring.flip_uncertainty import KEY, FlipUncertainty
from lib.trainers.spine_curve import SpineCurveTrainer


class SpineCurveConfig(TaskConfig):
    """The curve model (type segmentation, what Slicer lists) and its markups view (type "others")."""

    def init(self, name: str, model_dir: str, conf: dict[str, str], planner: Any, **kwargs) -> None:
        super().init(name, model_dir, conf, planner, **kwargs)
        self.models = kwargs["models"]
        self.overrides = kwargs["overrides"]
        self.device_for = kwargs["device_for"]
        self.path = str(self.models.curve.weights)
        self.labels = {"spine": 1}

    def infer(self) -> dict:
        depth = BackDepth(self.models.depth)  # the chain's sub-task (pipeline mode: no writer)
        return {
            self.name: SpineCurve(self.models.curve, depth),
            f"{self.name}_markups": SpineCurveMarkups(self.models.curve, depth),
        }

    def trainer(self) -> SpineCurveTrainer:
        return SpineCurveTrainer(
            self.models,
            Path(self.model_dir) / self.name,
            curve_overrides=self.overrides["curve"],
            depth_overrides=self.overrides["depth"],
            epochs=int(self.conf.get("epochs", 10)),
            fine_tune=str(self.conf.get("fine_tune", "true")).lower() == "true",
        )

    def scoring_method(self) -> dict:
        return {"curve_uncertainty": FlipUncertainty(self.models, self.device_for)}

    def strategy(self) -> dict:
        # MONAI Label's own ranking by an image-info score (here the flip uncertainty, highest first)
        return {"curve_uncertainty": Epistemic(key=KEY, desc="The photo whose spine curve is least certain (flips)")}
