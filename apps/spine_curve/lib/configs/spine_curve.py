"""``spine_curve`` and ``spine_curve_markups``: photo -> depth -> RGBD -> the spine_curve_segmentation U-Net."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monailabel.interfaces.config import TaskConfig
from monailabel.tasks.activelearning.epistemic import Epistemic

from lib.configs.served import ServedModels
from lib.infers.back_depth import BackDepth
from lib.infers.spine_curve import SpineCurve, SpineCurveMarkups
from lib.scoring.flip_uncertainty import KEY, FlipUncertainty
from lib.trainers.spine_curve import SpineCurveTrainer


class SpineCurveConfig(TaskConfig):
    """The curve model and its markups view (both type segmentation: the types Slicer's panel lists)."""

    def __init__(self, served: ServedModels) -> None:
        super().__init__()
        self.served = served

    def init(self, name: str, model_dir: str, conf: dict[str, str], planner: Any, **kwargs) -> None:
        super().init(name, model_dir, conf, planner, **kwargs)
        self.path = str(self.served.curve.weights)
        self.labels = {"spine": 1}

    def infer(self) -> dict:
        depth = BackDepth(self.served.depth)  # the chain's sub-task (pipeline mode: no writer)
        return {
            self.name: SpineCurve(self.served.curve, depth),
            f"{self.name}_markups": SpineCurveMarkups(self.served.curve, depth),
        }

    def trainer(self) -> SpineCurveTrainer:
        return SpineCurveTrainer(
            self.served,
            Path(self.model_dir) / self.name,
            curve_overrides=self.served.overrides["curve"],
            depth_overrides=self.served.overrides["depth"],
            epochs=int(self.conf.get("epochs", 10)),
            fine_tune=str(self.conf.get("fine_tune", "true")).lower() == "true",
        )

    def scoring_method(self) -> dict:
        return {"curve_uncertainty": FlipUncertainty(self.served, self.served.device_for)}

    def strategy(self) -> dict:
        # MONAI Label's own ranking by an image-info score (here the flip uncertainty, highest first)
        return {"curve_uncertainty": Epistemic(key=KEY, desc="The photo whose spine curve is least certain (flips)")}
