"""How much of a proposed spine curve a specialist would have to redraw: the editing effort of a correction.

The true line from C7 to L5 is sampled at equal steps of its length; a sample is *to redraw* when the proposal
(the model's centre line) passes further than ``tolerance_mm`` from it (default :data:`TOLERANCE_MM`, about the
width of the drawn band; a specialist does not move a curve that lies within it). The share of the true length to
redraw covers both a proposal off the spine and one that stops short of C7 or L5. No proposal at all is a share of
1: the whole curve drawn by hand. Pixel distances are measured in millimetres (``spacing``), so a resize does not
change the figure.

MONAI's surface distances (Hausdorff, average surface distance) measure masks, not the share of a line outside a
tolerance, which is what a correction costs; numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["TOLERANCE_MM", "redraw_share"]

TOLERANCE_MM = 3.0
_STEP_MM = 1.0  # the true line sampled every millimetre


def _as_mm(points: np.ndarray | Sequence, spacing: tuple[float, float] | float) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2 or not np.all(np.isfinite(pts)):
        raise ValueError(f"a line needs at least 2 finite (x, y) points; got shape {pts.shape}.")
    return pts * np.broadcast_to(np.asarray(spacing, dtype=np.float64), (2,))


def _resample(line: np.ndarray, step: float) -> np.ndarray:
    seg = np.hypot(*np.diff(line, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    at = np.linspace(0.0, s[-1], max(2, int(np.ceil(s[-1] / step)) + 1))
    return np.stack([np.interp(at, s, line[:, 0]), np.interp(at, s, line[:, 1])], axis=1)


def _distance_to_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Each point's distance to the nearest segment of ``line``."""
    a, b = line[:-1], line[1:]
    ab = b - a
    length2 = np.maximum((ab**2).sum(axis=1), 1e-12)
    t = np.clip(((points[:, None, :] - a[None]) * ab[None]).sum(axis=2) / length2[None], 0.0, 1.0)
    nearest = a[None] + t[..., None] * ab[None]
    return np.sqrt(((points[:, None, :] - nearest) ** 2).sum(axis=2)).min(axis=1)


def redraw_share(
    proposal: np.ndarray | Sequence | None,
    truth: np.ndarray | Sequence,
    spacing: tuple[float, float] | float = 1.0,
    tolerance_mm: float = TOLERANCE_MM,
) -> float:
    """The share (0-1) of the true C7-L5 line lying further than ``tolerance_mm`` from ``proposal``.

    Args:
        proposal: (N, 2) proposed centre line (x, y) in pixels, or None when no curve was found (share 1).
        truth: (M, 2) true line (x, y) in pixels, C7 to L5.
        spacing: millimetres per pixel, (x, y) or one number.
        tolerance_mm: the distance a specialist leaves uncorrected.
    """
    if not (np.isfinite(tolerance_mm) and tolerance_mm >= 0):
        raise ValueError(f"the tolerance must be a finite number of millimetres >= 0; got {tolerance_mm}.")
    samples = _resample(_as_mm(truth, spacing), _STEP_MM)
    if proposal is None:
        return 1.0
    distance = _distance_to_polyline(samples, _as_mm(proposal, spacing))
    return float((distance > tolerance_mm).mean())
