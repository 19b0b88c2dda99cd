"""How well the centre line read from a curve probability follows the drawn curve, without a 0.5 threshold: the
validation figure that picks the curve bundle's model (its ``key_metric``) and decides the Label app's swap.

The mask Dice of the 0.5-thresholded band was the figure before, and it picked the wrong networks: a network
whose band probability stays at 0.42 along the spine (the phantom's thin band, about 2 % of the pixels) scores
Dice 0 although the line it gives is right. Measured on Table 4's runs (30 epochs, cosine schedule from 1e-3,
``bundles/spine_curve_segmentation/docs/table4_ref.md``): RGBD on sensor depth, seed 10, kept its epoch-4 network
by validation Dice (Cobb MAE 10.0 deg on the test photos) over its final one (2.4 deg); the RGBD row read 4.49 deg
by the best-Dice networks against 2.72 deg by the final ones.

*Line agreement* scores what the curve stage is for. The true line is the centre line of the label's band
(:func:`~monai_gamanet.metrics.centre_line.centre_line`, C7 to L5); the proposal is the centre line the report
reads (:func:`~monai_gamanet.metrics.decoding.decode_centre_line`, by default from the probability itself); the
figure is the share of the true line's length that the proposal passes within the band's own width of (the width a
specialist draws, as :data:`~monai_gamanet.metrics.editing.TOLERANCE_MM` is in millimetres): 1 -
:func:`~monai_gamanet.metrics.editing.redraw_share` in the label's pixels, so the label alone decides it (the Label
app's corrected curves carry no curve JSON and no pixel spacing). No curve found is 0; a label without a band is
left out (NaN). MONAI's Dice, IoU and surface distances score masks, not where a line runs, which is why this exists.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from monai.metrics import CumulativeIterationMetric

from monai_gamanet.metrics.centre_line import NoCurveFound, centre_line
from monai_gamanet.metrics.decoding import CURVE_DECODINGS, decode_centre_line
from monai_gamanet.metrics.editing import redraw_share

__all__ = ["LineAgreementMetric", "line_agreement"]


def _curve_channel(x: np.ndarray) -> np.ndarray:
    """(W, H) from (W, H), (1, W, H) or a two-channel (2, W, H) probability / one-hot label (the curve is last)."""
    x = np.asarray(x)
    return x[-1] if x.ndim == 3 else x


def line_agreement(probability: np.ndarray, label: np.ndarray, decoding: str = "probability") -> float:
    """The share (0-1) of the label's C7-L5 centre line that the decoded line passes within the band's width of.

    Args:
        probability: the curve probability (W, H), (1, W, H) or (2, W, H) (the curve channel last).
        label: the drawn band at the same size (values > 0 are band), (W, H), (1, W, H) or one-hot (2, W, H).
        decoding: how the centre line is read (:data:`~monai_gamanet.metrics.decoding.CURVE_DECODINGS`).

    Returns:
        the share, 0 when no curve is found in ``probability``; NaN when ``label`` holds no band.
    """
    band = _curve_channel(label) > 0
    prob = _curve_channel(probability)
    if prob.shape != band.shape:
        raise ValueError(f"the probability {prob.shape} and the label {band.shape} must have one (W, H) size.")
    try:
        truth = centre_line(band)
    except NoCurveFound:
        return math.nan
    per_row = band.sum(axis=0)
    width = float(per_row[per_row > 0].mean())
    try:
        line = decode_centre_line(prob, decoding)
    except NoCurveFound:
        return 0.0
    return 1.0 - redraw_share(line, truth, 1.0, tolerance_mm=width)


class LineAgreementMetric(CumulativeIterationMetric):
    """:func:`line_agreement` per image, averaged (NaN rows, labels without a band, left out) since the last reset.

    ``y_pred``: the curve probability (B, 2, W, H) or (B, 1, W, H); ``y``: the label (B, 1, W, H) or one-hot
    (B, 2, W, H).

    Args:
        decoding: how the centre line is read from the probability (the bundle's ``curve_decoding``).
    """

    def __init__(self, decoding: str = "probability") -> None:
        super().__init__()
        if decoding not in CURVE_DECODINGS:
            raise ValueError(f"unknown curve decoding '{decoding}'; choose from {', '.join(CURVE_DECODINGS)}.")
        self.decoding = decoding

    def _compute_tensor(self, y_pred: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None or y.ndim != 4 or y_pred.ndim != 4:
            raise ValueError("line agreement needs the probability and the label as (B, C, W, H) batches.")
        probability, label = y_pred.detach().float().cpu().numpy(), y.detach().float().cpu().numpy()
        rows = [[line_agreement(p, t, self.decoding)] for p, t in zip(probability, label, strict=True)]
        return torch.tensor(rows, dtype=torch.float32, device=y_pred.device)

    def aggregate(self) -> torch.Tensor:
        buffer = self.get_buffer()
        if buffer is None or len(buffer) == 0 or torch.isnan(buffer).all():
            return torch.tensor(math.nan)
        return torch.nanmean(buffer.float())
