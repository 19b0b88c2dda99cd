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

from dataclasses import dataclass, field

import numpy as np

from monai_gamanet.metrics.centre_line import NoCurveFound, centre_line
from monai_gamanet.metrics.levels import nearest_level, region

__all__ = [
    "CobbCurve",
    "tangent_angles",
    "cobb_angles",
    "major_cobb_angle",
    "severity_class",
    "SEVERITY_CLASSES",
    "STRUCTURAL_COBB_DEG",
    "SpineMorphology",
    "smooth_centre_line",
    "measure_spine",
    "measure_curve_mask",
]

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


STRUCTURAL_COBB_DEG = 10.0  # the smallest Cobb angle that counts for the curve type (C, S): scoliosis by definition
VERTEBRA_INTERVALS = 17  # C7 to L5 (18 levels): one vertebra height is about the line's length over this


@dataclass
class SpineMorphology:
    """What a spine specialist reads off a coronal spine line; every length in pixels of the input and millimetres.

    Attributes:
        points: (N, 2) smoothed centre line (x, y) in pixels, C7 first, one point per row.
        spacing_mm: (x, y) millimetres per pixel the angles were measured with.
        smoothing_mm: the Gaussian smoothing's standard deviation along the line.
        curves: each curve found (see :func:`measure_spine`), top first.
        major_cobb_deg: the largest Cobb angle; where no curve reaches ``min_cobb``, the whole line's tilt range
            (so the value is continuous at that threshold; a straight line gives nearly 0).
        curve_type: ``"none"``, ``"C"`` (one curve of at least :data:`STRUCTURAL_COBB_DEG`) or ``"S"`` (two or more).
        description: e.g. ``"C, convex right, thoracic (apex T8)"``.
        severity: :func:`severity_class` of the major Cobb angle.
        max_deviation_px / max_deviation_mm: the largest distance of the line from the straight line between its
            ends (C7 to L5), at ``deviation_point``; positive towards +x (the patient's right on a photo of the
            back).
    """

    points: np.ndarray
    spacing_mm: tuple[float, float]
    smoothing_mm: float
    curves: list[dict] = field(default_factory=list)
    major_cobb_deg: float = 0.0
    curve_type: str = "none"
    description: str = "no structural curve"
    severity: str = "normal-mild"
    max_deviation_px: float = 0.0
    max_deviation_mm: float = 0.0
    deviation_point: tuple[float, float] = (0.0, 0.0)

    def to_dict(self) -> dict:
        """Plain Python types (JSON-ready), rounded to what a measurement can claim."""
        return {
            "curve_found": True,
            "points": np.round(self.points, 2).tolist(),
            "spacing_mm": [round(float(s), 5) for s in self.spacing_mm],
            "smoothing_mm": round(float(self.smoothing_mm), 2),
            "cobb_angles_deg": [c["cobb_deg"] for c in self.curves],
            "major_cobb_deg": round(float(self.major_cobb_deg), 2),
            "curves": self.curves,
            "curve_type": self.curve_type,
            "description": self.description,
            "severity": self.severity,
            "max_deviation_px": round(float(self.max_deviation_px), 2),
            "max_deviation_mm": round(float(self.max_deviation_mm), 2),
            "deviation_point": [round(float(v), 2) for v in self.deviation_point],
        }


def _spacing(spacing: tuple[float, float] | float) -> tuple[float, float]:
    sx, sy = (spacing, spacing) if np.isscalar(spacing) else spacing
    if not (np.isfinite(sx) and np.isfinite(sy) and sx > 0 and sy > 0):
        raise ValueError(f"pixel spacing must be positive and finite; got {spacing}.")
    return float(sx), float(sy)


def smooth_centre_line(
    points: np.ndarray, spacing: tuple[float, float] | float = 1.0, vertebrae: float = 1.0
) -> tuple[np.ndarray, float]:
    """Smooth a one-point-per-row line over about ``vertebrae`` vertebra heights (Gaussian, in millimetres).

    One vertebra height is the line's length in y (millimetres) over the 17 intervals from C7 to L5, so the
    smoothing follows the spine whatever the photo's size or pixel spacing.

    Returns:
        the smoothed points and the Gaussian's standard deviation in millimetres.
    """
    from scipy.ndimage import gaussian_filter1d

    pts = np.asarray(points, dtype=np.float64)
    _, sy = _spacing(spacing)
    sigma_mm = vertebrae * (pts[-1, 1] - pts[0, 1]) * sy / VERTEBRA_INTERVALS
    rows = np.arange(np.ceil(pts[0, 1]), np.floor(pts[-1, 1]) + 1)  # one point per row, also for sparse input
    x = np.interp(rows, pts[:, 1], pts[:, 0])
    if sigma_mm > 0 and len(x) > 2:
        # continue each end along its own straight-line fit, so the ends keep their tilt (padding with the end
        # value would bend them upright, a mirror would copy the band's ragged end rows)
        pad = int(np.ceil(4 * sigma_mm / sy))
        fit = max(2, min(len(x), int(np.ceil(3 * sigma_mm / sy))))
        steps = np.arange(1, pad + 1)
        head = np.polyfit(np.arange(fit), x[:fit], 1)[0]
        tail = np.polyfit(np.arange(fit), x[-fit:], 1)[0]
        padded = np.concatenate([x[0] - head * steps[::-1], x, x[-1] + tail * steps])
        x = gaussian_filter1d(padded, sigma_mm / sy, mode="nearest")[pad : pad + len(x)]
    return np.stack([x, rows], axis=1), float(sigma_mm)


def measure_spine(
    points: np.ndarray | list,
    spacing: tuple[float, float] | float = 1.0,
    smoothing: float = 1.0,
    min_cobb: float = 5.0,
) -> SpineMorphology:
    """The morphology of a coronal spine line from C7 to L5: Cobb angles, apex, deviation, type, severity.

    The line is brought to one point per row and smoothed over ``smoothing`` vertebra heights
    (:func:`smooth_centre_line`); tilt angles are measured in millimetres (``spacing``, so a resize that changes
    the aspect ratio does not change them); each monotonic swing of the tilt of at least ``min_cobb`` degrees
    between two inflection points is one curve (:func:`cobb_angles`). Vertebral levels are assigned by height
    between the line's ends (C7 at the top, L5 at the bottom).

    Args:
        points: (N, 2) points (x, y) in pixels, C7 first, y increasing.
        spacing: millimetres per pixel, (x, y) or one number.
        smoothing: Gaussian smoothing in vertebra heights (0: none).
        min_cobb: the smallest swing counted as a curve, degrees.
    """
    sx, sy = _spacing(spacing)
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3 or pts[-1, 1] - pts[0, 1] < 2:
        raise NoCurveFound(f"no curve found: a spine line needs at least 3 points over 3 rows; got {pts.shape}.")
    line, sigma_mm = smooth_centre_line(pts, (sx, sy), smoothing)
    t = (line[:, 1] - line[0, 1]) / (line[-1, 1] - line[0, 1])
    curves = []
    for c in cobb_angles(line, (sx, sy), min_cobb):
        apex = nearest_level(t[c.apex_index])
        curves.append(
            {
                "cobb_deg": round(c.cobb_deg, 2),
                "convex": c.convex,
                "region": region(apex),
                "upper_end": nearest_level(t[c.upper_index]),
                "apex": apex,
                "lower_end": nearest_level(t[c.lower_index]),
                "upper_point": np.round(line[c.upper_index], 2).tolist(),
                "apex_point": np.round(line[c.apex_index], 2).tolist(),
                "lower_point": np.round(line[c.lower_index], 2).tolist(),
            }
        )
    theta = tangent_angles(line, (sx, sy))
    major = max((c["cobb_deg"] for c in curves), default=float(theta.max() - theta.min()))
    structural = [c for c in curves if c["cobb_deg"] >= STRUCTURAL_COBB_DEG]
    kind = "none" if not structural else "C" if len(structural) == 1 else "S"
    parts = [f"convex {c['convex']}, {c['region']} (apex {c['apex']}, {c['cobb_deg']:.0f} deg)" for c in structural]
    description = "no structural curve" if not structural else f"{kind}: " + "; ".join(parts)
    # deviation from the straight line C7-L5, in millimetres and in pixels of the input
    mm = line * np.array([sx, sy])
    chord = mm[-1] - mm[0]
    offset_mm = ((mm[:, 0] - mm[0, 0]) * chord[1] - (mm[:, 1] - mm[0, 1]) * chord[0]) / np.hypot(*chord)
    chord_px = line[-1] - line[0]
    offset_px = ((line[:, 0] - line[0, 0]) * chord_px[1] - (line[:, 1] - line[0, 1]) * chord_px[0]) / np.hypot(
        *chord_px
    )
    i = int(np.argmax(np.abs(offset_mm)))
    return SpineMorphology(
        points=line,
        spacing_mm=(sx, sy),
        smoothing_mm=sigma_mm,
        curves=curves,
        major_cobb_deg=float(major),
        curve_type=kind,
        description=description,
        severity=severity_class(float(major)),
        max_deviation_px=float(offset_px[i]),
        max_deviation_mm=float(offset_mm[i]),
        deviation_point=(float(line[i, 0]), float(line[i, 1])),
    )


def measure_curve_mask(
    mask: np.ndarray, spacing: tuple[float, float] | float = 1.0, smoothing: float = 1.0, min_cobb: float = 5.0
) -> SpineMorphology:
    """:func:`measure_spine` of a band mask's :func:`centre_line` (raises :class:`NoCurveFound` if it has none)."""
    return measure_spine(centre_line(mask), spacing, smoothing, min_cobb)
