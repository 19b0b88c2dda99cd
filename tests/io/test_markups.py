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
    measurement,
    morphology_measurements,
    surface_heights,
    write_markups,
)
from tests.schemas import validate_markups

W, H = 240, 480


def _line() -> np.ndarray:
    y = np.arange(40.0, 441.0)
    return np.stack([120 + 20 * np.sin(np.pi * (y - 40) / 400), y], axis=1)


def _check_schema(doc: dict) -> dict:
    """Valid against Slicer's markups schema v1.0.3 (:func:`tests.schemas.validate_markups`), with the keys this
    project promises (LPS, mm, a label and 3 coordinates per point)."""
    validate_markups(doc)
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
    path = write_markups(tmp_path / "case.mrk.json", curve_markups(points, labels=labels))
    curve = _check_schema(json.loads(path.read_text()))
    positions = np.array([p["position"] for p in curve["controlPoints"]])
    # Slicer loads a PNG at spacing 1 whatever its resolution: the curve is written in the photo's pixels
    np.testing.assert_allclose(positions[:, :2], points, atol=1e-3)
    assert np.all(positions[:, 2] == 0) and [p["label"] for p in curve["controlPoints"]] == labels
    assert positions[:, 0].max() < W and positions[:, 1].max() < H  # inside the photo's extent


def test_the_morphology_becomes_measurements_slicer_shows() -> None:
    """Slicer reads a markup's measurements (name, value, units, description), never its top-level description."""
    report = {
        "major_cobb_deg": 27.46,
        "severity": "moderate",
        "curve_type": "S",
        "description": "S, thoracic right (apex T8), lumbar left (apex L2)",
        "curves": [
            {
                "cobb_deg": 27.46,
                "convex": "right",
                "region": "thoracic",
                "upper_end": "T4",
                "apex": "T8",
                "lower_end": "T12",
            },
            {
                "cobb_deg": 15.2,
                "convex": "left",
                "region": "lumbar",
                "upper_end": "T12",
                "apex": "L2",
                "lower_end": "L5",
            },
        ],
        "spacing_mm": [1.3, 1.3],
        "max_deviation_mm": 14.2,
        "surface_rotation_max_deg": -4.1,
        "surface_rotation_max_level": "T9",
    }
    measured = morphology_measurements(report)
    by_name = {m["name"]: m for m in measured}
    assert by_name["major Cobb angle"]["value"] == 27.46 and by_name["major Cobb angle"]["units"] == "deg"
    assert (
        "moderate" in by_name["major Cobb angle"]["description"] and "S" in by_name["major Cobb angle"]["description"]
    )
    assert by_name["Cobb angle 2"]["value"] == 15.2 and "T12-L5, apex L2" in by_name["Cobb angle 2"]["description"]
    assert (
        by_name["largest deviation"]["units"] == "mm"
        and "1.3 mm per pixel" in by_name["largest deviation"]["description"]
    )
    assert by_name["largest surface rotation"]["value"] == -4.1
    curve = _check_schema(curve_markups(_line()[:3], measurements=measured))
    assert curve["measurements"] == measured
    assert all(set(m) == {"name", "enabled", "value", "units", "description"} for m in measured)
    with pytest.raises(ValueError, match="finite"):
        measurement("major Cobb angle", float("nan"), "deg")


def test_surface_curve_takes_z_from_the_estimated_depth() -> None:
    depth = np.tile(np.linspace(0.0, 1.0, H), (W, 1))  # (W, H): deeper further down
    points, labels = level_points(_line())
    z = surface_heights(points, depth, depth_range_mm=80.0)
    np.testing.assert_allclose(z, points[:, 1] / (H - 1) * 80.0, atol=1e-6)
    assert surface_heights(points, depth[None]).max() == pytest.approx(points[-1, 1] / (H - 1) * DEFAULT_DEPTH_RANGE_MM)
    curve = _check_schema(curve_markups(points, "Spine on the back", labels, z=z))
    np.testing.assert_allclose([p["position"][2] for p in curve["controlPoints"]], z, atol=1e-3)


def test_the_schema_check_refuses_what_slicer_would_not_read() -> None:
    import jsonschema

    doc = curve_markups(_line()[:3])
    doc["markups"][0]["controlPoints"][0]["position"] = [1.0, 2.0]  # two coordinates
    with pytest.raises(jsonschema.ValidationError):
        validate_markups(doc)


def test_bad_input_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 2 finite"):
        curve_markups([[1.0, np.nan], [2.0, 3.0]])
    with pytest.raises(ValueError, match="one finite value per point"):
        curve_markups(_line()[:3], z=[0.0, 1.0])
    with pytest.raises(ValueError, match="finite"):
        surface_heights(_line(), np.full((W, H), np.nan))
    with pytest.raises(ValueError, match="positive"):
        surface_heights(_line(), np.zeros((W, H)), depth_range_mm=-5)
    with pytest.raises(ValueError, match=".mrk.json"):
        write_markups(tmp_path / "case.json", curve_markups(_line()[:3]))
    assert list(tmp_path.iterdir()) == []
