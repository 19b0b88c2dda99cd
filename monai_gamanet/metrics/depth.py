"""Depth metrics of the paper (eqs. 12-17) on relative depth in [0, 1].

Conventions (stated because depth papers differ here, see ``../shared/PEERS.md``): a pixel is scored when it
is valid (``mask`` > 0) and its target exceeds ``eps``; predictions are clipped to [eps, 1] (so the ratio
metrics cannot explode near 0); each metric is averaged over the pixels of each image, then over images.
``align="scale_shift"`` first fits ``s * pred + t`` to the target by least squares over each image's scored
pixels, as relative-depth evaluations (MiDaS, Marigold) do.

An image without a scorable pixel yields NaN for that image and is left out of the average.
"""

from __future__ import annotations

import torch
from monai.metrics import CumulativeIterationMetric
from monai.utils import MetricReduction

from monai_gamanet.utils import split_depth_label

__all__ = ["DEPTH_METRICS", "align_scale_shift", "compute_depth_metrics", "depth_metrics_per_image", "DepthMetric"]

DEPTH_METRICS: tuple[str, ...] = ("abs_rel", "rmse", "sq_rel", "delta1", "delta2", "delta3")
HIGHER_IS_BETTER = {"abs_rel": False, "rmse": False, "sq_rel": False, "delta1": True, "delta2": True, "delta3": True}


def _flatten(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1).float()


def align_scale_shift(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Per row of (B, N) maps: the least-squares ``s * pred + t`` fit of ``target`` over ``valid`` entries.

    Differentiable in ``pred`` (the closed-form fit), so the same function scores relative depth (MiDaS, Marigold)
    and makes the scale-and-shift-invariant loss (:class:`monai_gamanet.losses.DepthLoss`).
    """
    w = valid.float()
    n = w.sum(1, keepdim=True).clamp_min(1)
    mp, mt = (pred * w).sum(1, keepdim=True) / n, (target * w).sum(1, keepdim=True) / n
    cov = ((pred - mp) * (target - mt) * w).sum(1, keepdim=True)
    var = ((pred - mp) ** 2 * w).sum(1, keepdim=True).clamp_min(1e-12)
    s = cov / var
    return s * pred + (mt - s * mp)


def depth_metrics_per_image(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, eps: float = 1e-3, align: str = "none"
) -> torch.Tensor:
    """The six metrics of each image: a (B, 6) tensor in the order of :data:`DEPTH_METRICS`.

    Args:
        pred: (B, 1, W, H) or (B, W, H) predicted relative depth.
        target: ground truth of the same shape.
        mask: valid pixels (> 0); default: every pixel.
        eps: scored pixels have target > eps; predictions are clipped to [eps, 1].
        align: ``"none"`` or ``"scale_shift"``.
    """
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} must have the same shape.")
    if align not in ("none", "scale_shift"):
        raise ValueError(f"align must be 'none' or 'scale_shift', got '{align}'.")
    p, t = _flatten(pred), _flatten(target)
    valid = torch.isfinite(t) & (t > eps) & torch.isfinite(p)
    if mask is not None:
        if mask.shape != target.shape:
            raise ValueError(f"mask shape {tuple(mask.shape)} must equal the target's {tuple(target.shape)}.")
        valid &= _flatten(mask) > 0
    p = torch.where(valid, p, torch.zeros_like(p))
    t = torch.where(valid, t, torch.ones_like(t))
    if align == "scale_shift":
        p = align_scale_shift(p, t, valid)
    p = p.clamp(eps, 1.0)
    w = valid.float()
    n = w.sum(1)
    mean = lambda v: (v * w).sum(1) / n  # noqa: E731 - NaN for images without a scored pixel (0 / 0)
    diff = t - p
    ratio = torch.maximum(t / p, p / t)
    out = torch.stack(
        [
            mean(diff.abs() / t),
            mean(diff**2).sqrt(),
            mean(diff**2 / t),
            mean((ratio < 1.25).float()),
            mean((ratio < 1.25**2).float()),
            mean((ratio < 1.25**3).float()),
        ],
        dim=1,
    )
    return out


def compute_depth_metrics(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, eps: float = 1e-3, align: str = "none"
) -> dict[str, float]:
    """``abs_rel``, ``rmse``, ``sq_rel``, ``delta1``, ``delta2``, ``delta3``: per image, then averaged over the batch.

    See :func:`depth_metrics_per_image` for the arguments and the module docstring for the conventions.
    """
    per_image = depth_metrics_per_image(pred, target, mask, eps, align)
    return {name: float(v) for name, v in zip(DEPTH_METRICS, per_image.nanmean(0), strict=True)}


class DepthMetric(CumulativeIterationMetric):
    """The depth metrics as a MONAI cumulative metric, for MONAI engines and handlers.

    Called as ``metric(y_pred, y)`` or ``metric(y_pred, y, mask=mask)``; when no mask is given and ``y`` has two
    channels, channel 0 is the target and channel 1 the valid-pixel mask (so an engine can carry the mask in its
    label without a custom handler).

    Args:
        metric_name: one name of :data:`DEPTH_METRICS` (``aggregate`` returns a scalar tensor, usable as a key
            metric, e.g. ``"delta1"``) or a sequence of names (``aggregate`` returns a dict).
        eps: see :func:`depth_metrics_per_image`.
        align: ``"none"`` or ``"scale_shift"``.
        reduction: MONAI reduction of the buffered (images, metrics) values; the default ``mean_batch`` averages
            each metric over images, ignoring NaN (unscorable) ones.
        get_not_nans: also return the number of scored images.
    """

    def __init__(
        self,
        metric_name: str | tuple[str, ...] = DEPTH_METRICS,
        eps: float = 1e-3,
        align: str = "none",
        reduction: MetricReduction | str = MetricReduction.MEAN_BATCH,
        get_not_nans: bool = False,
    ) -> None:
        super().__init__()
        names = (metric_name,) if isinstance(metric_name, str) else tuple(metric_name)
        unknown = [n for n in names if n not in DEPTH_METRICS]
        if unknown:
            raise ValueError(f"unknown depth metric(s) {unknown}; choose from {DEPTH_METRICS}.")
        self.single = isinstance(metric_name, str)
        self.names, self.eps, self.align = names, eps, align
        self.reduction, self.get_not_nans = reduction, get_not_nans

    def _compute_tensor(self, y_pred: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        y, mask = split_depth_label(y, mask)
        per_image = depth_metrics_per_image(y_pred, y, mask, self.eps, self.align)
        return per_image[:, [DEPTH_METRICS.index(n) for n in self.names]]

    def aggregate(self, reduction: MetricReduction | str | None = None):  # type: ignore[override]
        from monai.metrics.utils import do_metric_reduction

        data = self.get_buffer()
        if not isinstance(data, torch.Tensor):
            raise ValueError("DepthMetric has no buffered values: call it on a batch first.")
        values, not_nans = do_metric_reduction(data, reduction or self.reduction)
        if self.single:
            return (values[0], not_nans[0]) if self.get_not_nans else values[0]
        result = {n: values[i] for i, n in enumerate(self.names)}
        return (result, not_nans) if self.get_not_nans else result
