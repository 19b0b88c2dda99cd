"""Cobb angles measured on curves whose answer is known in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from monai_gamanet.metrics.morphology import cobb_angles, major_cobb_angle, severity_class, tangent_angles


def _arc(half_angle_deg: float, radius: float = 300.0, n: int = 400, convex: str = "right") -> np.ndarray:
    """A circular arc from C7 down, tangent turning from +a to -a (convex right) or the mirror."""
    phi = np.radians(np.linspace(-half_angle_deg, half_angle_deg, n))
    x, y = radius * np.cos(phi), radius * np.sin(phi)
    return np.stack([x if convex == "right" else -x, y + radius], axis=1)


@pytest.mark.parametrize("half", [5.0, 15.0, 30.0])
def test_arc_cobb_is_twice_its_half_angle(half: float) -> None:
    curves = cobb_angles(_arc(half))
    assert len(curves) == 1
    assert curves[0].cobb_deg == pytest.approx(2 * half, abs=0.2)
    assert curves[0].convex == "right" and cobb_angles(_arc(half, convex="left"))[0].convex == "left"
    assert 150 < curves[0].apex_index < 250


def test_s_curve_has_two_curves() -> None:
    upper = _arc(20.0, n=200)
    lower = _arc(15.0, n=200, convex="left")
    lower = lower - lower[0] + upper[-1] + np.array([0.0, 1e-3])
    tilt_fix = np.radians(5.0)  # join with matching tangents: lower arc starts at -20 deg like the upper ends
    rot = np.array([[np.cos(tilt_fix), -np.sin(tilt_fix)], [np.sin(tilt_fix), np.cos(tilt_fix)]])
    lower = (lower - lower[0]) @ rot.T + upper[-1]
    points = np.concatenate([upper, lower[1:]])
    curves = cobb_angles(points)
    assert [c.convex for c in curves] == ["right", "left"]
    assert curves[0].cobb_deg == pytest.approx(40.0, abs=1.0)
    assert major_cobb_angle(points) == pytest.approx(max(c.cobb_deg for c in curves))


def test_straight_and_tiny_wiggle_have_no_curve() -> None:
    y = np.linspace(0, 500, 200)
    assert cobb_angles(np.stack([np.full_like(y, 10.0), y], 1)) == []
    assert major_cobb_angle(np.stack([0.5 * np.sin(y / 50.0), y], 1)) == 0.0


def test_anisotropic_pixels() -> None:
    arc = _arc(20.0)
    squeezed = arc / np.array([2.0, 1.0])  # pixels twice as wide as high
    assert cobb_angles(squeezed, spacing=(2.0, 1.0))[0].cobb_deg == pytest.approx(40.0, abs=0.2)
    assert cobb_angles(squeezed)[0].cobb_deg < 30.0
    assert tangent_angles(arc)[0] == pytest.approx(20.0, abs=0.3)


def test_severity_classes() -> None:
    assert [severity_class(a) for a in (0, 20, 20.5, 40, 41)] == [
        "normal-mild",
        "normal-mild",
        "moderate",
        "moderate",
        "severe",
    ]
    with pytest.raises(ValueError):
        severity_class(float("nan"))


def test_bad_points() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        cobb_angles([[0, 0], [1, 1]])
    with pytest.raises(ValueError, match="NaN"):
        cobb_angles([[0, 0], [1, np.nan], [2, 2]])


# --- from a mask to what a specialist reads (measure_spine, measure_curve_mask) ---------------------------------

from monai_gamanet.data.geometry import curve_to_band  # noqa: E402
from monai_gamanet.data.synthetic import generate_sample  # noqa: E402
from monai_gamanet.metrics.centre_line import NoCurveFound, centre_line  # noqa: E402
from monai_gamanet.metrics.morphology import measure_curve_mask, measure_spine  # noqa: E402

W, H = 240, 480


def _line(x_of_t, top: float = 40.0, bottom: float = 440.0, n: int = 200) -> np.ndarray:
    """A spine line x = f(t) for t from 0 (C7, row ``top``) to 1 (L5, row ``bottom``)."""
    t = np.linspace(0.0, 1.0, n)
    return np.stack([x_of_t(t), top + t * (bottom - top)], axis=1)


def _mask(points: np.ndarray, size: tuple[int, int] = (W, H)) -> np.ndarray:
    return curve_to_band(points, size, 5.0)


def test_straight_vertical_and_tilted_lines_have_no_curve() -> None:
    for x in (lambda t: 120 + 0 * t, lambda t: 90 + 60 * t):  # vertical; tilted 8.5 deg but straight
        m = measure_curve_mask(_mask(_line(x)))
        assert m.curves == [] and m.curve_type == "none" and m.severity == "normal-mild"
        assert m.major_cobb_deg < 1.0 and abs(m.max_deviation_px) < 1.0
        assert m.description == "no structural curve"


def test_c_curve_apex_deviation_region_and_direction() -> None:
    bump = lambda t: 120 + 30 * np.sin(np.pi * t)  # noqa: E731  convex towards +x, apex mid-spine
    m = measure_curve_mask(_mask(_line(bump)), spacing=1.0)
    assert m.curve_type == "C" and len(m.curves) == 1
    curve = m.curves[0]
    assert curve["convex"] == "right" and curve["apex"] in ("T8", "T9", "T10") and curve["region"] == "thoracic"
    assert m.max_deviation_px == pytest.approx(30.0, abs=1.5) and m.max_deviation_mm == pytest.approx(
        m.max_deviation_px
    )
    assert m.deviation_point[1] == pytest.approx(240.0, abs=10)
    assert m.description.startswith("C: convex right, thoracic")
    # the same shape measured on the smooth line itself: the mask path adds next to nothing
    assert m.major_cobb_deg == pytest.approx(measure_spine(_line(bump)).major_cobb_deg, abs=0.5)
    mirror = measure_curve_mask(_mask(_line(lambda t: 240 - bump(t))))
    assert mirror.curves[0]["convex"] == "left" and mirror.max_deviation_px < 0


def test_s_curve_has_two_structural_curves_of_opposite_sides() -> None:
    s = lambda t: 120 + 25 * np.sin(2 * np.pi * t)  # noqa: E731
    m = measure_curve_mask(_mask(_line(s)))
    assert m.curve_type == "S" and [c["convex"] for c in m.curves] == ["right", "left"]
    assert m.curves[0]["region"] == "thoracic" and m.curves[1]["region"] in ("thoracolumbar", "lumbar")
    assert m.major_cobb_deg == pytest.approx(max(c["cobb_deg"] for c in m.curves))


def test_short_curve_still_measured_in_its_own_vertebra_heights() -> None:
    """A line over a third of the photo (a close-up): levels and smoothing scale with the line, not the image."""
    bump = lambda t: 120 + 10 * np.sin(np.pi * t)  # noqa: E731
    short, full = _line(bump, 100, 260), _line(lambda t: 120 + 25 * np.sin(np.pi * t), 40, 440)
    a, b = measure_curve_mask(_mask(short)), measure_curve_mask(_mask(full))
    assert a.curve_type == "C" and a.curves[0]["apex"] in ("T8", "T9", "T10")
    assert a.major_cobb_deg == pytest.approx(b.major_cobb_deg, abs=1.5)  # same shape, scaled by 0.4
    assert a.smoothing_mm == pytest.approx(0.4 * b.smoothing_mm, rel=0.05)


def test_resize_with_another_aspect_ratio_keeps_the_angles() -> None:
    bump = lambda t: 120 + 30 * np.sin(np.pi * t)  # noqa: E731
    square = measure_curve_mask(_mask(_line(bump)), spacing=1.0)
    squeezed = _line(bump) * np.array([0.5, 1.0])  # the photo resized to half its width: pixels 2 mm wide
    m = measure_curve_mask(_mask(squeezed, (W // 2, H)), spacing=(2.0, 1.0))
    assert m.major_cobb_deg == pytest.approx(square.major_cobb_deg, abs=1.5)
    assert m.max_deviation_mm == pytest.approx(square.max_deviation_mm, abs=2.0)
    assert m.max_deviation_px == pytest.approx(square.max_deviation_px / 2, abs=1.5)
    assert measure_curve_mask(_mask(squeezed, (W // 2, H))).major_cobb_deg < square.major_cobb_deg - 5  # if ignored


def test_ground_truth_masks_recover_the_generators_cobb_angles() -> None:
    """The phantom's ground truth and a mask go through the same function: its band recovers it within 1.5 deg."""
    errors = []
    for i in range(24):
        sample = generate_sample(i, seed=11)
        doc = sample.curve
        m = measure_curve_mask(sample.label.T, doc["pixel_spacing_mm"])  # label is (H, W): MONAI order is (W, H)
        errors.append(abs(m.major_cobb_deg - doc["major_cobb_deg"]))
        assert m.curve_type == doc["curve_type"] and m.severity == doc["severity"]
    assert max(errors) <= 1.5 and np.mean(errors) < 0.5


def test_blank_noise_and_blobs_give_no_curve_found() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(NoCurveFound, match="empty"):
        measure_curve_mask(np.zeros((W, H)))
    with pytest.raises(NoCurveFound, match="rows"):
        measure_curve_mask(rng.random((W, H)) > 0.995)  # scattered noise: tiny components
    blob = np.zeros((W, H))
    blob[40:200, 100:400] = 1  # a wide patch (e.g. the whole back lit up): not a band
    with pytest.raises(NoCurveFound, match="wide"):
        measure_curve_mask(blob)
    with pytest.raises(NoCurveFound):
        measure_curve_mask(np.full((W, H), np.nan))
    assert issubclass(NoCurveFound, ValueError)


def test_report_is_plain_json_and_centre_line_is_one_point_per_row() -> None:
    import json

    line = centre_line(_mask(_line(lambda t: 120 + 20 * np.sin(np.pi * t))))
    assert np.array_equal(line[:, 1], np.arange(line[0, 1], line[-1, 1] + 1))
    report = measure_spine(line, (1.3, 1.3)).to_dict()
    assert json.loads(json.dumps(report)) == report and report["curve_found"] is True
    assert set(report["curves"][0]) >= {"cobb_deg", "apex", "upper_end", "lower_end", "apex_point", "region"}
