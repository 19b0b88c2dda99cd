"""``spine_curve`` and ``spine_curve_markups``: photo -> depth -> RGBD -> the spine_curve_segmentation U-Net."""

from __future__ import annotations

from typing import Any

from monailabel.interfaces.config import TaskConfig

from lib.infers.spine_curve import BackDepth, SpineCurve, SpineCurveMarkups


class SpineCurveConfig(TaskConfig):
    """The curve model (type segmentation, what Slicer lists) and its markups view (type "others")."""

    def init(self, name: str, model_dir: str, conf: dict[str, str], planner: Any, **kwargs) -> None:
        super().init(name, model_dir, conf, planner, **kwargs)
        self.models = kwargs["models"]
        self.path = str(self.models.curve.weights)
        self.labels = {"spine": 1}

    def infer(self) -> dict:
        depth = BackDepth(self.models.depth)  # the chain's sub-task (pipeline mode: no writer)
        return {
            self.name: SpineCurve(self.models.curve, depth),
            f"{self.name}_markups": SpineCurveMarkups(self.models.curve, depth),
        }

    def trainer(self):
        return None  # fine-tuning through the app: not yet (issue 10, item 3)
