"""Spine morphology measured on a coronal curve: tangent angles and Cobb angles.

The Cobb angle of a curve is the angle between the two most tilted vertebrae that bound it
(the end vertebrae). On a continuous coronal centre line the tilt of a vertebra is the tilt
of the line's tangent, so each structural curve is one monotonic swing of the tangent angle
between two turning points (the inflection points of the line), and its Cobb angle is the
size of that swing. This is the computational Cobb angle used by surface-topography and
curve-regression work; it needs the curve in physical units (millimetres), because a photo
resized to 480 x 240 need not have square pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CobbCurve", "tangent_angles", "cobb_angles", "major_cobb_angle", "severity_class", "SEVERITY_CLASSES"]

# Classes of Zhang et al., JAMA Netw Open 2023 (smartphone photo screening), in degrees of the major curve.
SEVERITY_CLASSES: tuple[tuple[str, float], ...] = (("normal-mild", 20.0), ("moderate", 40.0), ("severe", float("inf")))


@dataclass(frozen=True)
class CobbCurve:
    """One structural curve found on a coronal centre line.

    Attributes:
        cobb_deg: the Cobb angle in degrees (always positive).
        upper_index: index of the upper end point (the most tilted point above the apex).
        lower_index: index of the lower end point.
        apex_index: index of the point with the largest lateral deviation from the chord between the end points.
        convex: ``"right"`` when the curve bulges towards +x (the patient's right on a photo of the back),
            else ``"left"``.
    """

    cobb_deg: float
    upper_index: int
    lower_index: int
    apex_index: int
    convex: str


def _as_points(points: np.ndarray | list, spacing: tuple[float, float] | float) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        raise ValueError(f"a curve needs at least 3 points as an (N, 2) array of (x, y); got shape {pts.shape}.")
    if not np.all(np.isfinite(pts)):
        raise ValueError("curve points contain NaN or infinite values.")
    sx, sy = (spacing, spacing) if np.isscalar(spacing) else spacing
    return pts * np.array([sx, sy], dtype=np.float64)


def tangent_angles(points: np.ndarray | list, spacing: tuple[float, float] | float = 1.0) -> np.ndarray:
    """Tilt of the curve at each point, in degrees from the vertical axis.

    Args:
        points: (N, 2) curve points as (x, y) = (column, row) pixel coordinates, ordered from the top (C7).
        spacing: physical size of a pixel as (x, y) or one number, e.g. millimetres per pixel.

    Returns:
        (N,) angles; positive where the curve runs towards +x while going down.
    """
    pts = _as_points(points, spacing)
    dx = np.gradient(pts[:, 0])
    dy = np.gradient(pts[:, 1])
    return np.degrees(np.arctan2(dx, dy))


def _turning_points(theta: np.ndarray, min_swing: float) -> list[int]:
    """Indices where the tangent angle turns, ignoring swings smaller than ``min_swing`` (a zig-zag filter).

    Every two consecutive indices returned bound a monotonic swing of at least ``min_swing`` degrees.
    """
    turns: list[int] = []
    low = high = extreme = 0
    direction = 0  # 0: no significant move yet, +1 rising, -1 falling
    for i in range(1, len(theta)):
        if direction == 0:
            low = i if theta[i] < theta[low] else low
            high = i if theta[i] > theta[high] else high
            if theta[high] - theta[low] >= min_swing:
                direction = 1 if high > low else -1
                turns.append(low if direction == 1 else high)
                extreme = high if direction == 1 else low
        elif direction * (theta[i] - theta[extreme]) > 0:
            extreme = i
        elif direction * (theta[extreme] - theta[i]) >= min_swing:
            turns.append(extreme)
            direction, extreme = -direction, i
    if direction != 0:
        turns.append(extreme)
    return turns


def _end_vertebrae(theta: np.ndarray, upper: int, lower: int, tolerance: float) -> tuple[int, int]:
    """Move each end inwards along its plateau: the end vertebra is the last one still tilted within
    ``tolerance`` degrees of the most tilted one, counted from the apex side."""
    top, bottom = theta[upper], theta[lower]
    while upper + 1 < lower and abs(theta[upper + 1] - top) <= tolerance:
        upper += 1
    while lower - 1 > upper and abs(theta[lower - 1] - bottom) <= tolerance:
        lower -= 1
    return upper, lower


def cobb_angles(
    points: np.ndarray | list,
    spacing: tuple[float, float] | float = 1.0,
    min_cobb: float = 5.0,
    end_tolerance: float = 0.5,
) -> list[CobbCurve]:
    """Find the structural curves of a coronal centre line and their Cobb angles.

    The tangent angle is followed from top to bottom; every swing between two turning points that is at least
    ``min_cobb`` degrees is one curve (smaller wiggles are noise or a straight spine).

    Args:
        points: (N, 2) points (x, y) ordered from C7 downwards, as written in the phantom's curve JSON.
        spacing: millimetres per pixel, (x, y) or one number; angles are measured in physical space.
        min_cobb: swings smaller than this many degrees are not counted as curves.
        end_tolerance: along a straight, uniformly tilted stretch every point is "most tilted"; the end
            vertebra is taken as the one nearest the apex that is within this many degrees of the extreme tilt.

    Returns:
        the curves from top to bottom; an empty list for a straight spine.
    """
    pts = _as_points(points, spacing)
    theta = tangent_angles(points, spacing)
    turns = _turning_points(theta, min_cobb)
    curves = []
    for upper, lower in zip(turns[:-1], turns[1:], strict=True):
        swing = theta[lower] - theta[upper]
        upper, lower = _end_vertebrae(theta, upper, lower, end_tolerance)
        chord = pts[lower] - pts[upper]
        rel = pts[upper : lower + 1] - pts[upper]
        # signed distance from the chord; positive = towards +x for a chord running downwards
        offset = (rel[:, 0] * chord[1] - rel[:, 1] * chord[0]) / max(np.hypot(*chord), 1e-9)
        apex = upper + int(np.argmax(np.abs(offset)))
        # the tangent turns from +x-going to -x-going (swing < 0) around a bump towards +x
        curves.append(CobbCurve(float(abs(swing)), int(upper), int(lower), apex, "right" if swing < 0 else "left"))
    return curves


def major_cobb_angle(
    points: np.ndarray | list, spacing: tuple[float, float] | float = 1.0, min_cobb: float = 5.0
) -> float:
    """The largest Cobb angle of the curve in degrees, 0 for a straight spine."""
    return max((c.cobb_deg for c in cobb_angles(points, spacing, min_cobb)), default=0.0)


def severity_class(major_cobb_deg: float) -> str:
    """Screening class of a major Cobb angle: ``normal-mild`` <= 20, ``moderate`` 20-40, ``severe`` > 40 degrees."""
    for name, upper in SEVERITY_CLASSES:
        if major_cobb_deg <= upper:
            return name
    raise ValueError(f"Cobb angle must be a finite number of degrees, got {major_cobb_deg}.")
