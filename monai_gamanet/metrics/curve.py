"""Curve segmentation metrics of Table 4 (IoU, accuracy, Dice, sensitivity, specificity), from MONAI's metrics."""

from __future__ import annotations

import torch
from monai.metrics import ConfusionMatrixMetric, DiceMetric, MeanIoU

__all__ = ["CURVE_METRICS", "compute_curve_metrics"]

CURVE_METRICS: tuple[str, ...] = ("iou", "accuracy", "dice", "sensitivity", "specificity")


def compute_curve_metrics(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """Score binary curve masks, per image then averaged over the batch.

    Args:
        pred: (B, 1, W, H) predicted mask (values > 0.5 are curve).
        target: (B, 1, W, H) ground-truth mask.

    Returns:
        ``iou`` and ``dice`` of the curve class (MONAI ``MeanIoU`` / ``DiceMetric``), and pixel ``accuracy``,
        ``sensitivity``, ``specificity`` (MONAI ``ConfusionMatrixMetric``).
    """
    if pred.shape != target.shape or pred.ndim != 4 or pred.shape[1] != 1:
        raise ValueError(
            f"curve masks must be two (B, 1, W, H) tensors of one shape; got {tuple(pred.shape)}, "
            f"{tuple(target.shape)}."
        )
    p, t = (pred > 0.5).float(), (target > 0.5).float()
    iou = MeanIoU(include_background=True, ignore_empty=False)(p, t)
    dice = DiceMetric(include_background=True, ignore_empty=False)(p, t)
    confusion = ConfusionMatrixMetric(include_background=True, metric_name=("accuracy", "sensitivity", "specificity"))
    confusion(p, t)
    acc, sens, spec = (v.item() for v in confusion.aggregate())
    return {
        "iou": float(iou.mean()),
        "accuracy": acc,
        "dice": float(dice.mean()),
        "sensitivity": sens,
        "specificity": spec,
    }
