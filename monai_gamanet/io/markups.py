"""The spine curve as a 3D Slicer markups curve (``.mrk.json``), on the photo and on the back's surface.

Slicer loads a PNG photo as a one-slice volume with origin 0, spacing 1 (or the spacing given) and identity
direction in LPS, so pixel (column, row) lies at (column x spacing, row x spacing, 0) mm in LPS: a curve written
there lies on the photo in the slice view. A second curve lifts the same points onto the back's surface for the 3D
view: z = relative depth x the depth range in millimetres (0 at the point nearest the camera, growing away from
it), the range known from the capture's depth map or else :data:`DEFAULT_DEPTH_RANGE_MM`.

Control points are placed at the vertebral levels C7 to L5 (heights along the line as in the phantom's anatomy)
and labelled with them; the curve's description carries the morphology (Cobb angle, type, severity), which Slicer
shows in the markups module.
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


def curve_markups(
    points: np.ndarray | Sequence,
    spacing: float | tuple[float, float] = 1.0,
    name: str = "Spine curve",
    labels: Sequence[str] | None = None,
    z_mm: np.ndarray | Sequence[float] | None = None,
    description: str = "",
) -> dict:
    """A Slicer markups document (schema v1.0.3) holding one ``Curve`` through ``points``.

    Args:
        points: (N, 2) pixel (column, row) of the photo.
        spacing: millimetres per pixel, one number or (x, y), as the photo is loaded in Slicer (1: a plain PNG).
        name: the curve's name in Slicer.
        labels: a label per point (e.g. vertebral levels); default 1, 2, ...
        z_mm: a z per point in millimetres (the surface curve); default 0 (on the photo).
        description: free text shown with the curve (e.g. the morphology report's summary).
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2 or not np.all(np.isfinite(pts)):
        raise ValueError(f"a markups curve needs at least 2 finite (x, y) points; got shape {pts.shape}.")
    sx, sy = (spacing, spacing) if np.isscalar(spacing) else spacing
    z = np.zeros(len(pts)) if z_mm is None else np.asarray(z_mm, dtype=np.float64)
    if z.shape != (len(pts),) or not np.all(np.isfinite(z)):
        raise ValueError(f"z_mm needs one finite value per point ({len(pts)}); got shape {z.shape}.")
    labels = [str(i + 1) for i in range(len(pts))] if labels is None else [str(s) for s in labels]
    if len(labels) != len(pts):
        raise ValueError(f"{len(labels)} labels for {len(pts)} points.")
    positions = np.stack([pts[:, 0] * sx, pts[:, 1] * sy, z], axis=1)
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
        "measurements": [],
        "display": {"visibility": True, "color": [1.0, 0.8, 0.0], "selectedColor": [1.0, 0.5, 0.0]},
    }
    return {"@schema": MARKUPS_SCHEMA_URL, "markups": [curve]}


def write_markups(path: str | Path, document: dict) -> Path:
    """Write a markups document to ``path`` (``.mrk.json``) atomically: never a half-written file."""
    path = Path(path)
    if not path.name.endswith(".mrk.json"):
        raise ValueError(f"Slicer reads markups from '.mrk.json' files; got {path.name}.")
    text = json.dumps(document, indent=2)
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))
