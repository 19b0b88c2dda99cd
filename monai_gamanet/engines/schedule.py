"""Learning-rate schedules of the bundles: the paper's constant rate, or a linear warm-up then a cosine decay.

The paper trains with Adam at a constant 1e-4. On the phantom a ten times larger step learned faster and generalised
better but left the validation curve unsteady (the depth bundle's docs, "Learning rate"); a warm-up followed by a
cosine decay to zero keeps the large early steps and ends with small ones. MONAI ships the schedule itself
(:class:`monai.optimizers.WarmupCosineSchedule`); this module only chooses between the two by name and sizes the
schedule in epochs, so that a bundle config can say ``lr_schedule: warmup_cosine`` and nothing else. Both are
stepped once per iteration by MONAI's ``LrScheduleHandler(epoch_level=False)`` and saved in the run's ``last.pt``,
so a resumed run continues its schedule where it stopped.
"""

from __future__ import annotations

import torch
from monai.optimizers import WarmupCosineSchedule

__all__ = ["LR_SCHEDULES", "create_lr_scheduler"]

LR_SCHEDULES = ("constant", "warmup_cosine")


def create_lr_scheduler(
    optimizer: torch.optim.Optimizer,
    schedule: str = "constant",
    epochs: int = 1,
    steps_per_epoch: int = 1,
    warmup_epochs: float = 1.0,
) -> torch.optim.lr_scheduler.LRScheduler:
    """The per-iteration scheduler named ``schedule`` for ``optimizer``.

    Args:
        optimizer: the optimiser; its configured learning rate is the constant rate, or the warm-up's peak.
        schedule: ``"constant"`` (the paper's: the rate never changes) or ``"warmup_cosine"`` (linear warm-up from 0
            to the peak over ``warmup_epochs``, then a half cosine down to 0 at the end of ``epochs``).
        epochs: the run's planned length; the cosine reaches 0 at its end. A run extended later (``--epochs``
            raised) stretches its cosine over the new length, so the rate rises again from where the shorter plan
            had brought it: plan the length, then train it.
        steps_per_epoch: optimiser steps (batches) per epoch.
        warmup_epochs: length of the warm-up in epochs (fractions allowed).
    """
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown lr_schedule '{schedule}'; choose from {', '.join(LR_SCHEDULES)}.")
    if schedule == "constant":
        return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    total = max(1, int(epochs) * max(1, int(steps_per_epoch)))
    warmup = min(total - 1, max(0, round(float(warmup_epochs) * max(1, int(steps_per_epoch)))))
    return WarmupCosineSchedule(optimizer, warmup_steps=warmup, t_total=total)
