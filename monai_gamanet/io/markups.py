"""The spine curve as a 3D Slicer markups curve (``.mrk.json``), on the photo and on the back's surface.

3D Slicer loads a PNG photo as a one-slice volume with origin 0, identity direction in LPS and spacing 1 **whatever
the PNG's resolution field says** (measured with Slicer's own reader: a curve written at 1.437 mm per pixel came
out 1.437 x too large), so pixel (column, row) lies at (column, row, 0) in Slicer's millimetres: every curve here
is written in the photo's pixels, and the physical pixel spacing appears only in the measurements (lengths in mm).
A second curve lifts the same points onto the back's surface for the 3D view: z = relative depth x the depth range
in millimetres (0 at the point nearest the camera, growing away from it; the range known from the capture's depth
map or else :data:`DEFAULT_DEPTH_RANGE_MM`), divided by the millimetres per pixel, so that the relief keeps its
true proportion to the photo's width and height.

Control points are placed at the vertebral levels C7 to L5 (heights along the line as in the phantom's anatomy)
and labelled with them. The morphology (Cobb angles with their end vertebrae, severity, curve type, deviation) goes
into the curve's ``measurements`` (name, value, units, description), which Slicer loads and shows in the Markups
module; Slicer never reads a markup's top-level ``description``, which keeps a one-line summary for other readers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from monai_gamanet.data.files import atomic_write
from monai_gamanet.metrics.levels import LEVEL_T, LEVELS

__all__ = [
    "MARKUPS_SCHEMA_URL",
    "DEFAULT_DEPTH_RANGE_MM",
    "level_points",
    "measurement",
    "morphology_measurements",
    "curve_markups",
    "surface_heights",
    "write_markups",
]

MARKUPS_SCHEMA_URL = (
    "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/Schema/"
    "markups-schema-v1.0.3.json#"
)
# Back relief when the capture's depth range is unknown: the phantom's backs span about 70-130 mm from the nearest
# to the farthest valid point (README, phantom figures); 100 mm puts a relative depth of 1 there.
DEFAULT_DEPTH_RANGE_MM = 100.0


def level_points(points: np.ndarray | Sequence) -> tuple[np.ndarray, list[str]]:
    """The line's points at the vertebral levels C7 to L5 (by height between its ends) and their names."""
    pts = np.asarray(points, dtype=np.float64)
    y = pts[0, 1] + LEVEL_T * (pts[-1, 1] - pts[0, 1])
    return np.stack([np.interp(y, pts[:, 1], pts[:, 0]), y], axis=1), list(LEVELS)


def surface_heights(points: np.ndarray, relative_depth: np.ndarray, depth_range_mm: float | None = None) -> np.ndarray:
    """z (mm) of each point on the back: the relative depth there (bilinear) x ``depth_range_mm``.

    Args:
        points: (N, 2) pixel (x, y) on the depth map's grid.
        relative_depth: (W, H) relative depth in [0, 1] (MONAI's axis order), 0 nearest to the camera.
        depth_range_mm: the capture's depth range (farthest minus nearest valid point); None: the default.
    """
    d = np.asarray(relative_depth, dtype=np.float64)
    if d.ndim == 3 and d.shape[0] == 1:
        d = d[0]
    if d.ndim != 2 or not np.all(np.isfinite(d)):
        raise ValueError(f"the depth map must be a finite (W, H) array; got shape {np.shape(relative_depth)}.")
    scale = DEFAULT_DEPTH_RANGE_MM if depth_range_mm is None else float(depth_range_mm)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"the depth range must be a positive number of millimetres; got {depth_range_mm}.")
    x = np.clip(np.asarray(points, dtype=np.float64)[:, 0], 0, d.shape[0] - 1)
    y = np.clip(np.asarray(points, dtype=np.float64)[:, 1], 0, d.shape[1] - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, d.shape[0] - 1), np.minimum(y0 + 1, d.shape[1] - 1)
    fx, fy = x - x0, y - y0
    top = d[x0, y0] * (1 - fx) + d[x1, y0] * fx
    bottom = d[x0, y1] * (1 - fx) + d[x1, y1] * fx
    return (top * (1 - fy) + bottom * fy) * scale


def measurement(name: str, value: float, units: str, description: str = "") -> dict:
    """One entry of a markup's ``measurements`` (schema v1.0.3), as Slicer shows it in the Markups module."""
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"measurement '{name}' must be a finite number; got {value}.")
    return {"name": name, "enabled": False, "value": round(value, 3), "units": units, "description": description}


def morphology_measurements(report: dict) -> list[dict]:
    """The morphology report's numbers as markups measurements: the major Cobb angle (its description: severity,
    curve type and the summary), each curve's Cobb angle with its end and apex vertebrae, the largest deviation
    from the C7-L5 line (mm, and px) and the surface rotation's largest value where measured.

    ``enabled`` is false: these are the model's results, not measurements Slicer should recompute on the curve.
    """
    major = measurement(
        "major Cobb angle",
        report["major_cobb_deg"],
        "deg",
        f"{report['severity']}; curve type {report['curve_type']}; {report['description']}",
    )
    out = [major]
    for i, curve in enumerate(report.get("curves", [])):
        where = f"{curve['upper_end']}-{curve['lower_end']}, apex {curve['apex']}, convex {curve['convex']}"
        out.append(measurement(f"Cobb angle {i + 1}", curve["cobb_deg"], "deg", f"{curve['region']}: {where}"))
    spacing = report.get("spacing_mm", [1.0, 1.0])
    px = "pixels (no pixel spacing given)" if list(spacing) == [1.0, 1.0] else f"{spacing[0]:g} mm per pixel"
    out.append(measurement("largest deviation", report["max_deviation_mm"], "mm", f"from the C7-L5 line, at {px}"))
    if report.get("surface_rotation_max_deg") is not None:
        level = report.get("surface_rotation_max_level", "")
        out.append(measurement("largest surface rotation", report["surface_rotation_max_deg"], "deg", f"at {level}"))
    return out


def curve_markups(
    points: np.ndarray | Sequence,
    name: str = "Spine curve",
    labels: Sequence[str] | None = None,
    z: np.ndarray | Sequence[float] | None = None,
    measurements: Sequence[dict] = (),
    description: str = "",
    color: Sequence[float] = (1.0, 0.8, 0.0),
) -> dict:
    """A Slicer markups document (schema v1.0.3) holding one ``Curve`` through ``points``, in the photo's pixels.

    Args:
        points: (N, 2) pixel (column, row) of the photo: Slicer's (L, P) millimetres, since it loads a PNG at
            spacing 1 with origin 0.
        name: the curve's name in Slicer.
        labels: a label per point (e.g. vertebral levels); default 1, 2, ...
        z: a z per point in the same pixel units (the surface curve); default 0 (on the photo).
        measurements: entries of :func:`measurement` (e.g. :func:`morphology_measurements`), shown by Slicer.
        description: a one-line summary for other readers (Slicer does not show a markup's description).
        color: the curve's RGB colour in Slicer, 0-1 (default yellow, as the overlays draw the line).
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2 or not np.all(np.isfinite(pts)):
        raise ValueError(f"a markups curve needs at least 2 finite (x, y) points; got shape {pts.shape}.")
    z = np.zeros(len(pts)) if z is None else np.asarray(z, dtype=np.float64)
    if z.shape != (len(pts),) or not np.all(np.isfinite(z)):
        raise ValueError(f"z needs one finite value per point ({len(pts)}); got shape {z.shape}.")
    labels = [str(i + 1) for i in range(len(pts))] if labels is None else [str(s) for s in labels]
    if len(labels) != len(pts):
        raise ValueError(f"{len(labels)} labels for {len(pts)} points.")
    positions = np.stack([pts[:, 0], pts[:, 1], z], axis=1)
    control_points = [
        {
            "id": str(i + 1),
            "label": label,
            "description": "",
            "associatedNodeID": "",
            "position": [round(float(v), 3) for v in position],
            "orientation": [-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0],
            "selected": True,
            "locked": False,
            "visibility": True,
            "positionStatus": "defined",
        }
        for i, (label, position) in enumerate(zip(labels, positions, strict=True))
    ]
    curve = {
        "type": "Curve",
        "name": name,
        "description": description,
        "coordinateSystem": "LPS",
        "coordinateUnits": "mm",
        "locked": False,
        "fixedNumberOfControlPoints": False,
        "labelFormat": "%N-%d",
        "lastUsedControlPointNumber": len(control_points),
        "controlPoints": control_points,
        "measurements": list(measurements),
        "display": {
            "visibility": True,
            "color": [float(c) for c in color],
            "selectedColor": [1.0, 0.5, 0.0],
        },
    }
    return {"@schema": MARKUPS_SCHEMA_URL, "markups": [curve]}


def write_markups(path: str | Path, document: dict) -> Path:
    """Write a markups document to ``path`` (``.mrk.json``) atomically: never a half-written file."""
    path = Path(path)
    if not path.name.endswith(".mrk.json"):
        raise ValueError(f"Slicer reads markups from '.mrk.json' files; got {path.name}.")
    text = json.dumps(document, indent=2)
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))
