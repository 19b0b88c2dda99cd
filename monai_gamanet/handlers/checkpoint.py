"""A fixed-name "last" checkpoint that an interrupted training run resumes from.

MONAI's ``CheckpointSaver`` names interval checkpoints after the step (``checkpoint_epoch=7.pt``), and a config's
``CheckpointLoader`` that restores the trainer would have to reference the trainer from inside the trainer's
own handler list (a circular reference). This handler is attached to the trainer itself: it writes
``last.pt`` after every epoch (atomically: write, then rename; on the first process only when distributed) and,
when the file exists as training starts, loads it strictly and continues from its epoch.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.distributed as dist
from ignite.engine import Engine, Events

from monai_gamanet.data.files import atomic_write

__all__ = ["ResumableCheckpoint"]

logger = logging.getLogger(__name__)


def _unwrap(obj: object) -> object:
    return obj.module if isinstance(obj, torch.nn.parallel.DistributedDataParallel) else obj


class ResumableCheckpoint:
    """Save ``save_dict`` and the trainer's state to ``save_dir/filename`` every epoch; resume from it at start.

    Args:
        save_dir: folder of the checkpoint.
        save_dict: objects with ``state_dict`` / ``load_state_dict``, e.g. ``{"network": net, "optimizer": opt}``.
        filename: checkpoint file name.
        resume: load the checkpoint when training starts, if it exists.
    """

    def __init__(self, save_dir: str, save_dict: dict, filename: str = "last.pt", resume: bool = True) -> None:
        self.path = Path(save_dir) / filename
        self.save_dict, self.resume = save_dict, resume

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.STARTED, self.load)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self.save)

    def load(self, engine: Engine) -> None:
        if not (self.resume and self.path.is_file()):
            return
        state = torch.load(self.path, map_location="cpu", weights_only=True)
        for name, obj in self.save_dict.items():
            _unwrap(obj).load_state_dict(state[name])
        max_epochs = engine.state.max_epochs
        engine.load_state_dict(state["trainer"])
        engine.state.max_epochs = max_epochs  # the configured budget wins, so a run can be extended
        logger.info("resumed from %s at epoch %d of %d", self.path, engine.state.epoch, max_epochs)

    def save(self, engine: Engine) -> None:
        if dist.is_available() and dist.is_initialized() and dist.get_rank() != 0:
            return
        state = {name: _unwrap(obj).state_dict() for name, obj in self.save_dict.items()}
        state["trainer"] = engine.state_dict()
        atomic_write(self.path, lambda tmp: torch.save(state, tmp))
