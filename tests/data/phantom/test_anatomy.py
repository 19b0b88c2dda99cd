"""The phantom's anatomy carries the curve the way a back does: through surface shape more than the photo."""

from __future__ import annotations

import numpy as np
import pytest

from monai_gamanet.data.phantom.anatomy import (
    DISTANCE_CHANGE,
    SHOULDER_TILT_DEG,
    SWAY_DEG,
    CurveSpec,
    add_curvature,
    build_spine,
    height_field,
    restage,
    sample_parameters,
)


def _subject(cobb: float, convex: str = "right"):
    params = sample_parameters(np.random.default_rng(11))
    params.curves = [CurveSpec("thoracic", "T5", "T12", convex, cobb)]
    params.shoulder_drop_mm = params.waist_asymmetry_mm = 0.0
    return params


def _apex_asymmetry(cobb: float, convex: str = "right") -> float:
    """Height of the right minus the left side 60 mm beside the spinous line, at the apex row."""
    params = _subject(cobb, convex)
    spine = build_spine(params)
    h, _ = height_field(params, spine)
    apex = int(np.argmax(np.abs(spine.deviation)))
    row = int(round(spine.y[apex] / params.spacing_mm - 0.5))
    col = lambda x_mm: int(round(x_mm / params.spacing_mm + (params.width - 1) / 2))  # noqa: E731
    return float(h[row, col(spine.x_surface[apex] + 60)] - h[row, col(spine.x_surface[apex] - 60)])


def test_surface_line_deviates_less_than_radiographic_curve() -> None:
    params = _subject(40.0)
    spine = build_spine(params)
    pelvis_line = spine.x - spine.deviation
    assert np.abs(spine.deviation).max() > 10.0
    ratio = np.abs(spine.x_surface - pelvis_line).max() / np.abs(spine.deviation).max()
    assert 0.3 < ratio < 0.65


def test_rib_hump_on_the_convex_side_grows_with_the_curve() -> None:
    straight, mild, severe = _apex_asymmetry(0.0), _apex_asymmetry(20.0), _apex_asymmetry(50.0)
    assert abs(straight) < 3.0
    assert 2.0 < mild < severe, (mild, severe)
    assert _apex_asymmetry(50.0, "left") < -2.0


def test_about_ten_centimetres_of_relief() -> None:
    for seed in range(5):
        params = sample_parameters(np.random.default_rng(seed))
        h, body = height_field(params, build_spine(params))
        inner = h[body > 0]
        assert 70.0 < np.percentile(inner, 99) - np.percentile(inner, 1) < 150.0


def test_restaging_keeps_the_curve_and_stays_within_the_stated_ranges() -> None:
    params = sample_parameters(np.random.default_rng(3))
    length = params.y_l5_mm - params.y_c7_mm
    for k in range(20):
        moved = restage(params, np.random.default_rng(k))
        assert moved.curves == params.curves and moved.widths_mm == params.widths_mm
        ratio = moved.spacing_mm / params.spacing_mm
        assert DISTANCE_CHANGE[0] <= ratio - 1 <= DISTANCE_CHANGE[1]
        assert moved.distance_mm / params.distance_mm == pytest.approx(ratio)
        sway = np.degrees(np.arctan((moved.imbalance_mm - params.imbalance_mm) / length))
        tilt = np.degrees(
            np.arctan((moved.shoulder_drop_mm - params.shoulder_drop_mm) / (2 * params.widths_mm["shoulder"]))
        )
        assert SWAY_DEG[0] <= sway <= SWAY_DEG[1] and SHOULDER_TILT_DEG[0] <= tilt <= SHOULDER_TILT_DEG[1]
        # the photo's centre row shows the same height of the trunk
        centre = params.height / 2
        assert (centre * moved.spacing_mm - moved.y_c7_mm) == pytest.approx(centre * params.spacing_mm - params.y_c7_mm)
        # a common lean changes no Cobb angle: the deviation from the (leaning) line is the same
        np.testing.assert_allclose(build_spine(moved).deviation, build_spine(params).deviation, atol=1e-9)


def test_added_curvature_enlarges_only_the_major_curve() -> None:
    params = sample_parameters(np.random.default_rng(11))
    params.curves = [CurveSpec("thoracic", "T5", "T11", "right", 30.0), CurveSpec("lumbar", "T11", "L3", "left", 20.0)]
    later = add_curvature(params, 8.0)
    assert [c.target_cobb_deg for c in later.curves] == [38.0, 20.0]
    assert [c.target_cobb_deg for c in params.curves] == [30.0, 20.0]  # the earlier visit is not changed
    assert add_curvature(params, 0.0) is params
    assert add_curvature(params, -50.0).curves[0].target_cobb_deg == 0.0
