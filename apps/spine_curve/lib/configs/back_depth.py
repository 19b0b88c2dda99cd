"""``back_depth``: the back_depth_estimation bundle's GAMA-Net, served from its bundle folder (no copy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monailabel.interfaces.config import TaskConfig

from lib.configs.served import ServedModels
from lib.infers.back_depth import BackDepth
from lib.trainers.back_depth import BackDepthTrainer


class BackDepthConfig(TaskConfig):
    """The depth model (type "others": not listed by Slicer; fetched with the client or curl, see the README)."""

    def __init__(self, served: ServedModels) -> None:
        super().__init__()
        self.served = served

    def init(self, name: str, model_dir: str, conf: dict[str, str], planner: Any, **kwargs) -> None:
        super().init(name, model_dir, conf, planner, **kwargs)
        self.path = str(self.served.depth.weights)

    def infer(self) -> dict:
        return {self.name: BackDepth(self.served.depth)}

    def trainer(self) -> BackDepthTrainer:
        return BackDepthTrainer(
            self.served,
            Path(self.model_dir) / self.name,
            depth_overrides=self.served.overrides["depth"],
            epochs=int(self.conf.get("epochs", 10)),
            fine_tune=str(self.conf.get("fine_tune", "true")).lower() == "true",
        )
