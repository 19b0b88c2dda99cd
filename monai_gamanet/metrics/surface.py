"""Surface rotation per vertebral level, measured on a depth map of the back (as surface topography reports it).

What the curve stage needs from depth is the back's asymmetry: with a scoliosis the vertebrae rotate axially and
the convex side stands out (rib hump, lumbar prominence), a few millimetres over the back's 10 cm of depth.
Rasterstereography (DIERS formetric) reports it as the *surface rotation* at each level: the angle, seen from above,
of the line across the back through that level; the scoliometer's angle of trunk rotation (ATR) measures the same
tilt by hand. Neither MONAI nor the paper has it; it is measured here the same way on any depth map: the sensor's,
the phantom's noise-free surface, or the network's estimate (relative depth times a depth range), so that how well
an estimate carries the shape that matters can be scored against the phantom's truth.

At each level, over the rows within ``half_height_mm`` of it, the surface height (towards the camera) of the valid
pixels between ``inner_mm`` and ``outer_mm`` to either side of the spinous line is fitted by a straight line in
millimetres; the rotation is the angle of its slope, positive where the patient's right side (+x on a photo of the
back) stands out. The groove of the spine (inside ``inner_mm``) is left out; the symmetric shape of the back does not
tilt a fit over a symmetric window, so what remains is the asymmetry.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["surface_rotation", "rotation_summary"]


def surface_rotation(
    depth_mm: np.ndarray,
    points: np.ndarray | Sequence,
    spacing: tuple[float, float] | float = 1.0,
    inner_mm: float = 15.0,
    outer_mm: float = 60.0,
    half_height_mm: float = 5.0,
    min_pixels: int = 6,
) -> np.ndarray:
    """Surface rotation in degrees at each of ``points`` (NaN where too few valid pixels lie on either side).

    Args:
        depth_mm: (W, H) distance from the camera in millimetres, MONAI's axis order (any constant offset; 0 or NaN
            = no measurement). A relative depth in [0, 1] times the capture's depth range will do.
        points: (N, 2) pixel (x, y) of the spinous line at each level, e.g. C7 to L5.
        spacing: millimetres per pixel, (x, y) or one number.
        inner_mm: half-width of the spine's groove left out of the fit.
        outer_mm: how far to either side the fit reaches.
        half_height_mm: rows within this distance of the level are pooled.
        min_pixels: fewest valid pixels on each side for a measurement.
    """
    d = np.asarray(depth_mm, dtype=np.float64)
    if d.ndim == 3 and d.shape[0] == 1:
        d = d[0]
    if d.ndim != 2:
        raise ValueError(f"the depth map must be 2D (W, H); got shape {np.shape(depth_mm)}.")
    sx, sy = (spacing, spacing) if np.isscalar(spacing) else spacing
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    width, height = d.shape
    valid = np.isfinite(d) & (d > 0)
    columns = np.arange(width, dtype=np.float64)
    out = np.full(len(pts), np.nan)
    for i, (x0, y0) in enumerate(pts):
        if not (np.isfinite(x0) and np.isfinite(y0)):
            continue
        rows = np.arange(max(0, round(y0 - half_height_mm / sy)), min(height, round(y0 + half_height_mm / sy) + 1))
        if len(rows) == 0:
            continue
        offset = ((columns - x0) * sx)[:, None]  # (W, 1) mm from the spinous line
        window = (np.abs(offset) >= inner_mm) & (np.abs(offset) <= outer_mm) & valid[:, rows]
        left, right = window & (offset < 0), window & (offset > 0)
        if left.sum() < min_pixels or right.sum() < min_pixels:
            continue
        xs = np.broadcast_to(offset, window.shape)[window]
        zs = -d[:, rows][window]  # height towards the camera
        slope = np.polyfit(xs, zs, 1)[0]
        out[i] = np.degrees(np.arctan(slope))
    return out


def rotation_summary(rotation_deg: np.ndarray, levels: Sequence[str]) -> dict:
    """The report's summary (plain Python types): rotation per level, its rms and its largest value with the level."""
    r = np.asarray(rotation_deg, dtype=np.float64)
    measured = np.isfinite(r)
    if not measured.any():
        return {"surface_rotation_deg": {}, "surface_rotation_rms_deg": None, "surface_rotation_max_deg": None}
    i = int(np.nanargmax(np.abs(r)))
    return {
        "surface_rotation_deg": {lvl: round(float(v), 2) for lvl, v in zip(levels, r, strict=True) if np.isfinite(v)},
        "surface_rotation_rms_deg": round(float(np.sqrt(np.mean(r[measured] ** 2))), 2),
        "surface_rotation_max_deg": round(float(r[i]), 2),
        "surface_rotation_max_level": str(levels[i]),
    }
