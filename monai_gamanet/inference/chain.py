"""The paper's chain on one photo: photo -> estimated depth -> RGBD -> curve probability -> centre line -> report.

One implementation, in memory (arrays, never temporary files), used by the command-line pipeline, the MONAI Label
app's infers, its trainer's validation and its active-learning scoring.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from monai_gamanet.data.geometry import curve_to_band
from monai_gamanet.inference.curve import CurvePredictor
from monai_gamanet.inference.depth import DepthPredictor, Photo
from monai_gamanet.io.markups import (
    DEFAULT_DEPTH_RANGE_MM,
    curve_markups,
    level_points,
    morphology_measurements,
    surface_heights,
)
from monai_gamanet.metrics.centre_line import NoCurveFound
from monai_gamanet.metrics.decoding import measure_curve_probability
from monai_gamanet.metrics.surface import rotation_summary, surface_rotation

__all__ = ["BAND_WIDTH", "CurveResult", "SpineChain", "describe_curve", "load_photo"]

BAND_WIDTH = 5.0 / 240  # the label band drawn along a decoded line, as a fraction of the photo's width (phantom: 5 px)


def load_photo(photo: str | Path) -> torch.Tensor:
    """A photo file read once, channel-first (C, W, H), as the bundles' preprocessing reads it (both predictors
    then take it without reading the file again).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a readable image.
    """
    from monai_gamanet.transforms import LoadBackSampled

    return LoadBackSampled(keys="image")({"image": str(photo)})["image"]


@dataclass
class CurveResult:
    """What the chain found on one photo: the report (plain Python types), the two Slicer markups (on the photo,
    on the back's surface; None when no curve was found), the curve label (W, H) uint8 0/1, the estimated
    relative depth (W, H) and the curve probability (W, H), all at the photo's own size."""

    report: dict
    flat: dict | None
    surface: dict | None
    label: np.ndarray
    depth: np.ndarray
    probability: np.ndarray


def describe_curve(
    probability: np.ndarray,
    depth: np.ndarray,
    name: str,
    spacing: float = 1.0,
    depth_range_mm: float | None = None,
    decoding: str = "probability",
) -> tuple[dict, dict | None, dict | None, np.ndarray]:
    """Measure a curve probability (W, H): the report (plain Python types), the two Slicer markups (flat, on the
    back) and the curve label (W, H) uint8 0/1.

    The report adds the surface rotation at each level along the line (:func:`~monai_gamanet.metrics.surface.
    surface_rotation` of the relative depth times ``depth_range_mm``, default
    :data:`~monai_gamanet.io.markups.DEFAULT_DEPTH_RANGE_MM`: degrees need the photo's true ``spacing`` and depth
    range). The centre line is read by ``decoding`` (:func:`~monai_gamanet.metrics.decoding.decode_centre_line`);
    the label is then the band along that line (``"probability"``) or the 0.5 mask (``"mask"``). No curve found
    gives ``{"curve_found": False, "reason": ...}``, no markups and an empty label.
    """
    probability = np.asarray(probability)
    try:
        morphology = measure_curve_probability(probability, spacing, decoding)
    except NoCurveFound as err:
        return {"curve_found": False, "reason": str(err)}, None, None, np.zeros(probability.shape, np.uint8)
    if decoding == "mask":
        label = (probability > 0.5).astype(np.uint8)
    else:
        width = max(3.0, BAND_WIDTH * probability.shape[0])
        label = curve_to_band(morphology.points, probability.shape, width).astype(np.uint8)
    report = morphology.to_dict()
    points, labels = level_points(morphology.points)
    range_mm = DEFAULT_DEPTH_RANGE_MM if depth_range_mm is None else float(depth_range_mm)
    report |= rotation_summary(surface_rotation(np.asarray(depth) * range_mm, points, spacing), labels)
    summary = f"{morphology.description}; major Cobb {morphology.major_cobb_deg:.1f} deg, {morphology.severity}"
    measured = morphology_measurements(report)
    flat = curve_markups(points, f"{name} spine", labels, measurements=measured, description=summary)
    z_px = surface_heights(points, depth, depth_range_mm) / float(np.mean(morphology.spacing_mm))  # mm -> pixels
    lifted = curve_markups(points, f"{name} spine (3D)", labels, z_px, measured, summary)
    return report, flat, lifted, label


@dataclass(frozen=True)
class SpineChain:
    """The depth and curve predictors run in turn on one photo: ``chain(photo, name)`` -> :class:`CurveResult`."""

    depth: DepthPredictor
    curve: CurvePredictor

    def depth_for_curve(self, photo: Photo) -> np.ndarray | None:
        """The estimated depth when the curve model takes it (``None`` for an RGB-only curve model)."""
        return self.depth(photo) if self.curve.needs_depth else None

    def __call__(
        self,
        photo: Photo,
        name: str,
        spacing: float = 1.0,
        depth_range_mm: float | None = None,
        depth: np.ndarray | None = None,
    ) -> CurveResult:
        """Run the chain on ``photo`` (a file or a :func:`load_photo` image); ``depth`` (W, H), when the caller
        already has the estimate (the app's depth sub-task), is used instead of estimating it again."""
        if isinstance(photo, str | Path):
            photo = load_photo(photo)
        if depth is None:
            depth = self.depth(photo)
        probability = self.curve.probability(photo, depth)
        report, flat, surface, label = describe_curve(
            probability, depth, name, spacing, depth_range_mm, self.curve.decoding
        )
        return CurveResult(report, flat, surface, label, depth, probability)
