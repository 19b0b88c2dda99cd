"""Slicer markups curves: schema keys, geometry on the photo, lifted onto the back, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from monai_gamanet.io.markups import (
    DEFAULT_DEPTH_RANGE_MM,
    MARKUPS_SCHEMA_URL,
    curve_markups,
    level_points,
    surface_heights,
    write_markups,
)

W, H = 240, 480


def _line() -> np.ndarray:
    y = np.arange(40.0, 441.0)
    return np.stack([120 + 20 * np.sin(np.pi * (y - 40) / 400), y], axis=1)


def _check_schema(doc: dict) -> dict:
    """The keys Slicer's markups schema v1.0.3 requires (document: @schema, markups; markup: type; point:
    position), and the ones this project promises (LPS, mm, a label and 3 coordinates per point)."""
    assert doc["@schema"] == MARKUPS_SCHEMA_URL and doc["@schema"].endswith("markups-schema-v1.0.3.json#")
    (curve,) = doc["markups"]
    assert curve["type"] == "Curve" and curve["coordinateSystem"] == "LPS" and curve["coordinateUnits"] == "mm"
    for point in curve["controlPoints"]:
        assert len(point["position"]) == 3 and point["positionStatus"] == "defined" and point["label"]
    assert curve["lastUsedControlPointNumber"] == len(curve["controlPoints"])
    return curve


def test_photo_curve_lies_on_the_photo_as_slicer_places_it(tmp_path: Path) -> None:
    points, labels = level_points(_line())
    assert labels[0] == "C7" and labels[-1] == "L5" and len(labels) == 18
    assert points[0].tolist() == pytest.approx([120.0, 40.0]) and points[-1, 1] == pytest.approx(440.0)
    spacing = 1.3
    path = write_markups(tmp_path / "case.mrk.json", curve_markups(points, spacing, labels=labels))
    curve = _check_schema(json.loads(path.read_text()))
    positions = np.array([p["position"] for p in curve["controlPoints"]])
    np.testing.assert_allclose(positions[:, :2], points * spacing, atol=1e-3)  # pixel x spacing, origin 0
    assert np.all(positions[:, 2] == 0) and [p["label"] for p in curve["controlPoints"]] == labels
    # inside the photo's extent in millimetres
    assert positions[:, 0].max() < W * spacing and positions[:, 1].max() < H * spacing


def test_surface_curve_takes_z_from_the_estimated_depth() -> None:
    depth = np.tile(np.linspace(0.0, 1.0, H), (W, 1))  # (W, H): deeper further down
    points, labels = level_points(_line())
    z = surface_heights(points, depth, depth_range_mm=80.0)
    np.testing.assert_allclose(z, points[:, 1] / (H - 1) * 80.0, atol=1e-6)
    assert surface_heights(points, depth[None]).max() == pytest.approx(points[-1, 1] / (H - 1) * DEFAULT_DEPTH_RANGE_MM)
    curve = _check_schema(curve_markups(points, 1.0, labels=labels, z_mm=z, name="Spine on the back"))
    np.testing.assert_allclose([p["position"][2] for p in curve["controlPoints"]], z, atol=1e-3)


def test_bad_input_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 2 finite"):
        curve_markups([[1.0, np.nan], [2.0, 3.0]])
    with pytest.raises(ValueError, match="one finite value per point"):
        curve_markups(_line()[:3], z_mm=[0.0, 1.0])
    with pytest.raises(ValueError, match="finite"):
        surface_heights(_line(), np.full((W, H), np.nan))
    with pytest.raises(ValueError, match="positive"):
        surface_heights(_line(), np.zeros((W, H)), depth_range_mm=-5)
    with pytest.raises(ValueError, match=".mrk.json"):
        write_markups(tmp_path / "case.json", curve_markups(_line()[:3]))
    assert list(tmp_path.iterdir()) == []


def test_overlay_draws_the_measured_spine_and_says_when_there_is_none(tmp_path: Path) -> None:
    """The picture of a report: Cobb lines and text on the photo; a blank photo gets 'no curve found'."""
    from PIL import Image

    from monai_gamanet.data.synthetic import generate_sample
    from monai_gamanet.io.pictures import overlay_morphology
    from monai_gamanet.metrics.centre_line import NoCurveFound
    from monai_gamanet.metrics.morphology import measure_curve_mask

    sample = generate_sample(3, seed=2)
    report = measure_curve_mask(sample.label.T, sample.curve["pixel_spacing_mm"]).to_dict()
    picture = overlay_morphology(sample.image, report, sample.label)
    assert picture.shape == sample.image.shape and picture.dtype == np.uint8
    changed = np.any(picture != sample.image, axis=-1)
    assert changed[sample.label > 0].mean() > 0.9  # the band is tinted
    assert changed[sample.label == 0].sum() > 200  # Cobb lines, text and the C7-L5 line beyond the band
    Image.fromarray(picture).save(tmp_path / "overlay.png")
    blank = np.zeros_like(sample.image)
    with pytest.raises(NoCurveFound):
        measure_curve_mask(np.zeros(sample.label.T.shape))
    none = overlay_morphology(blank, {"curve_found": False})
    assert none.any() and none.shape == blank.shape  # the message is drawn, nothing else
