"""A fixed-name "last" checkpoint that training continues from on purpose, never by accident.

MONAI's ``CheckpointSaver`` names interval checkpoints after the step (``checkpoint_epoch=7.pt``), and a config's
``CheckpointLoader`` that restores the trainer would have to reference the trainer from inside the trainer's
own handler list (a circular reference). This handler is attached to the trainer itself: it writes
``last.pt`` after every epoch (atomically: write, then rename; on the first process only when distributed),
with a fingerprint of the run (network architecture, training data, size: whatever the config passes), and
decides at start whether to continue from it:

* ``resume="auto"`` (default): continue only when the stored run has the same fingerprint and has not yet
  trained the configured number of epochs (so ``--epochs`` can extend it); otherwise say why and start a fresh
  run. A new dataset, another network or a finished run is never silently continued.
* ``resume=True``: continue from it whatever it was trained on (the weights must still fit the network).
* ``resume=False``: always start afresh.

The best model by the validation metric is kept by MONAI's ``CheckpointSaver`` (``save_key_metric``), whose memory
of the best score so far lives in the process: pass it as ``best_saver`` and its record is saved in ``last.pt`` and
restored on resume, so that a resumed run replaces ``model.pt`` only with a better one, as an uninterrupted run would.

A fresh run keeps whatever weights the network already has, so MONAI Label's ``BundleTrainTask``, which puts
a ``CheckpointLoader`` of ``models/model.pt`` first in the training handlers, still fine-tunes the current model.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import torch
import torch.distributed as dist
from ignite.engine import Engine, Events
from monai.handlers import CheckpointSaver

from monai_gamanet.data.files import atomic_write

__all__ = ["ResumableCheckpoint"]

logger = logging.getLogger(__name__)

_RESUME = {"auto": "auto", "true": True, "false": False, True: True, False: False}


def _unwrap(obj: object) -> object:
    return obj.module if isinstance(obj, torch.nn.parallel.DistributedDataParallel) else obj


class ResumableCheckpoint:
    """Save ``save_dict``, the trainer's state and the run's fingerprint to ``save_dir/filename`` every epoch.

    Args:
        save_dir: folder of the checkpoint.
        save_dict: objects with ``state_dict`` / ``load_state_dict``, e.g. ``{"network": net, "optimizer": opt}``.
        filename: checkpoint file name.
        resume: ``"auto"``, ``True`` / ``"true"`` or ``False`` / ``"false"`` (see the module docstring).
        fingerprint: JSON-serialisable description of the run (e.g. network name, training files, size); the
            names and shapes of every saved state are added to it.
        best_saver: the validation's ``CheckpointSaver`` of the best model (``save_key_metric=True``), whose record
            of the best score is saved and restored with the run; None: none.
    """

    def __init__(
        self,
        save_dir: str,
        save_dict: dict,
        filename: str = "last.pt",
        resume: bool | str = "auto",
        fingerprint: object = None,
        best_saver: CheckpointSaver | None = None,
    ) -> None:
        key = resume.lower() if isinstance(resume, str) else resume
        if key not in _RESUME:
            raise ValueError(f"resume must be 'auto', true or false; got {resume!r}.")
        self.path = Path(save_dir) / filename
        self.save_dict, self.resume, self.fingerprint = save_dict, _RESUME[key], fingerprint
        self.best = getattr(best_saver, "_key_metric_checkpoint", None)  # ignite's Checkpoint: the best-score record

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.STARTED, self.load)
        engine.add_event_handler(Events.STARTED, self._save_last)

    def _save_last(self, engine: Engine) -> None:
        """Register :meth:`save` when the run starts, after every other handler was attached: ignite calls the
        end-of-epoch handlers in the order they were added, so ``last.pt`` is written after the epoch's validation
        and the best-model saver, whatever the handlers' order in the config."""
        if not engine.has_event_handler(self.save, Events.EPOCH_COMPLETED):
            engine.add_event_handler(Events.EPOCH_COMPLETED, self.save)

    def digest(self) -> str:
        """Hash of the fingerprint and of the architecture (state names and shapes) of everything saved."""
        shapes = {
            name: {k: list(v.shape) for k, v in _unwrap(obj).state_dict().items() if isinstance(v, torch.Tensor)}
            for name, obj in self.save_dict.items()
            if isinstance(_unwrap(obj), torch.nn.Module)
        }
        text = json.dumps({"run": self.fingerprint, "shapes": shapes}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def _why_not(self, state: dict, max_epochs: int) -> str | None:
        """Why ``resume="auto"`` does not continue the stored run (None: it does)."""
        if state.get("fingerprint") != self.digest():
            return "it was trained with another network, other data or another size"
        trainer = state["trainer"]
        done = trainer["iteration"] // max(1, trainer["epoch_length"] or 1)
        if done >= max_epochs:
            return f"it already trained {done} of the {max_epochs} epochs asked for (raise --epochs to extend it)"
        return None

    def load(self, engine: Engine) -> None:
        if self.resume is False:
            return
        if not self.path.is_file():
            if self.resume is True:
                logger.warning("resume was asked for, but %s does not exist: starting a fresh run", self.path)
            return
        state = torch.load(self.path, map_location="cpu", weights_only=True)
        max_epochs = engine.state.max_epochs
        if self.resume == "auto":
            reason = self._why_not(state, max_epochs)
            if reason:
                logger.warning(
                    "not resuming from %s: %s. Starting a fresh run (it will be overwritten); pass --resume true "
                    "to continue it anyway.",
                    self.path,
                    reason,
                )
                return
        for name, obj in self.save_dict.items():
            _unwrap(obj).load_state_dict(state[name])
        engine.load_state_dict(state["trainer"])
        if self.best is not None and "best" in state:
            self.best.load_state_dict(state["best"])
        engine.state.max_epochs = max_epochs  # the configured budget wins, so a run can be extended
        logger.info("resumed from %s at epoch %d of %d", self.path, engine.state.epoch, max_epochs)

    def save(self, engine: Engine) -> None:
        if dist.is_available() and dist.is_initialized() and dist.get_rank() != 0:
            return
        state = {name: _unwrap(obj).state_dict() for name, obj in self.save_dict.items()}
        state["trainer"] = engine.state_dict()
        if self.best is not None:
            state["best"] = self.best.state_dict()
        state["fingerprint"] = self.digest()
        atomic_write(self.path, lambda tmp: torch.save(state, tmp), durable=True)
