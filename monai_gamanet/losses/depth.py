"""Depth losses of GAMA-Net (paper eqs. 19-24) on relative depth in [0, 1], every term masked.

``DepthLoss = 5 * BerHu(c = 0.08) + 1 * (1 - SSIM) + 0.5 * gradient``. Invalid pixels (no depth measurement)
never contribute: BerHu and the gradient loss average over valid pixels (pairs of valid pixels for the
gradient), and SSIM comes from ``monai.losses.SSIMLoss`` on maps whose invalid pixels are set to the same
constant in prediction and target, so that they agree perfectly and carry no gradient (windows that straddle
a hole see the same artificial edge in both maps).

``scale_shift_invariant=True`` first fits ``s * pred + t`` to the target per image by least squares over the
valid pixels (closed form, differentiable: the MiDaS convention) and applies every term to the fitted map, so
the network is free in scale and offset and is judged on shape alone. Its raw outputs are then relative depth
only up to scale and shift: score them with ``align="scale_shift"``.

Predictions are cast to float32 before any term (under bf16 autocast SSIM and the sums lose too much precision).
"""

from __future__ import annotations

import torch
from monai.losses import SSIMLoss
from torch import nn

from monai_gamanet.metrics.depth import align_scale_shift
from monai_gamanet.utils import split_depth_label

__all__ = ["BerHuLoss", "GradientLoss", "DepthLoss"]


def _mask_like(target: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return torch.ones_like(target, dtype=torch.bool)
    if mask.shape != target.shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} must equal the target's {tuple(target.shape)}.")
    return mask > 0


def _check(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} must have the same shape.")
    if pred.ndim != 4 or pred.shape[1] != 1:
        raise ValueError(f"depth maps must be (B, 1, W, H); got {tuple(pred.shape)}.")


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over valid elements; 0 (with a gradient path) when there is none."""
    count = mask.sum()
    return torch.where(mask, values, torch.zeros_like(values)).sum() / count.clamp_min(1)


class BerHuLoss(nn.Module):
    """Reverse Huber loss (paper eqs. 19-20): ``|x|`` for ``|x| <= c``, ``(x^2 + c^2) / (2c)`` above.

    Args:
        threshold: the fixed ``c`` (the paper: 0.08 on [0, 1] depth).
        adaptive: use Laina et al.'s ``c = ratio * max|x|`` over the valid pixels of the batch instead.
        ratio: the ratio of the adaptive threshold (0.2 in Laina et al.).
    """

    def __init__(self, threshold: float = 0.08, adaptive: bool = False, ratio: float = 0.2) -> None:
        super().__init__()
        if threshold <= 0 or ratio <= 0:
            raise ValueError("BerHu threshold and ratio must be positive.")
        self.threshold, self.adaptive, self.ratio = threshold, adaptive, ratio

    def forward(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Mean BerHu over valid pixels of (B, 1, W, H) maps; ``mask`` > 0 marks valid pixels."""
        _check(pred, target)
        valid = _mask_like(target, mask)
        x = (pred - target).abs()
        if self.adaptive:
            c = (self.ratio * torch.where(valid, x, torch.zeros_like(x)).max()).detach().clamp_min(1e-6)
        else:
            c = torch.as_tensor(self.threshold, dtype=x.dtype, device=x.device)
        berhu = torch.where(x <= c, x, (x * x + c * c) / (2 * c))
        return _masked_mean(berhu, valid)


class GradientLoss(nn.Module):
    """Gradient loss (paper eq. 23): mean ``|dx pred - dx target| + |dy pred - dy target|`` over valid pixel pairs.

    Finite differences between neighbours along each spatial axis; a difference counts only where both of its
    pixels are valid, so the edge of a hole is not mistaken for a depth edge.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        _check(pred, target)
        valid = _mask_like(target, mask)
        total = pred.new_zeros(())
        for dim in (2, 3):
            n = pred.shape[dim] - 1
            dp = pred.narrow(dim, 1, n) - pred.narrow(dim, 0, n)
            dt = target.narrow(dim, 1, n) - target.narrow(dim, 0, n)
            pair = valid.narrow(dim, 1, n) & valid.narrow(dim, 0, n)
            total = total + _masked_mean((dp - dt).abs(), pair)
        return total


class DepthLoss(nn.Module):
    """The paper's composite depth loss (eq. 24): ``alpha * BerHu + beta * (1 - SSIM) + epsilon * gradient``.

    Args:
        berhu_weight: alpha (5 in the paper).
        ssim_weight: beta (1).
        gradient_weight: epsilon (0.5).
        berhu_threshold: BerHu's c (0.08).
        adaptive_berhu: use the adaptive BerHu threshold instead.
        ssim_window: SSIM window size (MONAI's Gaussian window, sigma 1.5).
        scale_shift_invariant: align the prediction to the target per image (least squares) before the terms.

    Table 2's loss ablations set the other weights to 0. ``forward(pred, target, mask)`` takes (B, 1, W, H)
    maps and returns a scalar; :meth:`terms` returns the weighted terms for logging.
    """

    def __init__(
        self,
        berhu_weight: float = 5.0,
        ssim_weight: float = 1.0,
        gradient_weight: float = 0.5,
        berhu_threshold: float = 0.08,
        adaptive_berhu: bool = False,
        ssim_window: int = 11,
        scale_shift_invariant: bool = False,
    ) -> None:
        super().__init__()
        if min(berhu_weight, ssim_weight, gradient_weight) < 0 or berhu_weight + ssim_weight + gradient_weight == 0:
            raise ValueError("loss weights must be non-negative and not all zero.")
        self.weights = {"berhu": berhu_weight, "ssim": ssim_weight, "gradient": gradient_weight}
        self.berhu = BerHuLoss(berhu_threshold, adaptive_berhu)
        self.ssim = SSIMLoss(spatial_dims=2, data_range=1.0, win_size=ssim_window)
        self.gradient = GradientLoss()
        self.scale_shift_invariant = scale_shift_invariant

    def terms(
        self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """The weighted loss terms (only those with a non-zero weight).

        ``target`` may carry the mask as a second channel (see :func:`monai_gamanet.utils.split_depth_label`).
        """
        target, mask = split_depth_label(target, mask)
        pred, target = pred.float(), target.float()
        _check(pred, target)
        valid = _mask_like(target, mask)
        if self.scale_shift_invariant:
            b = pred.shape[0]
            flat = align_scale_shift(pred.reshape(b, -1), target.reshape(b, -1), valid.reshape(b, -1))
            pred = flat.reshape(pred.shape)
        out = {}
        if self.weights["berhu"]:
            out["berhu"] = self.weights["berhu"] * self.berhu(pred, target, valid)
        if self.weights["ssim"]:
            fill = torch.zeros_like(pred)
            out["ssim"] = self.weights["ssim"] * self.ssim(
                torch.where(valid, pred, fill), torch.where(valid, target, fill)
            )
        if self.weights["gradient"]:
            out["gradient"] = self.weights["gradient"] * self.gradient(pred, target, valid)
        return out

    def forward(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return torch.stack(list(self.terms(pred, target, mask).values())).sum()
