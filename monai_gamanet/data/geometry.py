"""Geometry of the spine curve: an ordered polyline and the band mask drawn along it (numpy only).

Arrays follow MONAI's axis order: a photo H pixels high and W wide is indexed ``[x, y]`` with spatial shape
(W, H), and a curve point is ``(x, y) = (column, row)``, so point coordinates index the array directly. The
spine runs from C7 at the top (small y) down to L5 and crosses every row at most once, which makes both
directions simple and exact: the band is every pixel within ``width / 2`` of the curve measured
perpendicular to it, and the centre line is the band's mean column in each row.

This module imports no MONAI or torch so that the phantom generator stays fast to start;
:mod:`monai_gamanet.transforms.curve` wraps it as MONAI transforms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["check_curve_points", "curve_to_band"]


def check_curve_points(points: np.ndarray | Sequence) -> np.ndarray:
    """Return the points as an (N, 2) float64 array, or raise ValueError if they are not an ordered curve."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2:
        raise ValueError(f"curve points must be an (N >= 2, 2) array of (x, y); got shape {pts.shape}.")
    if not np.all(np.isfinite(pts)):
        raise ValueError("curve points contain NaN or infinite values.")
    if np.any(np.diff(pts[:, 1]) <= 0):
        raise ValueError("curve points must be ordered from C7 downwards with strictly increasing y.")
    return pts


def curve_to_band(points: np.ndarray | Sequence, spatial_size: Sequence[int], width: float = 5.0) -> np.ndarray:
    """Rasterise an ordered curve into a band mask.

    Args:
        points: (N, 2) points (x, y), ordered from C7 (top) with strictly increasing y.
        spatial_size: (W, H) of the mask in MONAI's axis order.
        width: band width in pixels, measured perpendicular to the curve.

    Returns:
        uint8 array of shape ``spatial_size``, 1 on the band; rows above the first and below the last point stay 0.
    """
    pts = check_curve_points(points)
    size_x, size_y = int(spatial_size[0]), int(spatial_size[1])
    slope = np.gradient(pts[:, 0], pts[:, 1])  # dx/dy
    half = width / 2.0
    y = np.arange(size_y, dtype=np.float64)
    in_rows = (y >= pts[0, 1]) & (y <= pts[-1, 1])
    centre = np.interp(y, pts[:, 1], pts[:, 0])
    cos = 1.0 / np.sqrt(1.0 + np.interp(y, pts[:, 1], slope) ** 2)
    x = np.arange(size_x, dtype=np.float64)[:, None]
    band = (np.abs(x - centre[None, :]) * cos[None, :] <= half) & in_rows[None, :]
    return band.astype(np.uint8)
