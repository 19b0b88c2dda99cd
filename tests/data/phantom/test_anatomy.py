"""The phantom's anatomy carries the curve the way a back does: through surface shape more than the photo."""

from __future__ import annotations

import numpy as np

from monai_gamanet.data.phantom.anatomy import CurveSpec, build_spine, height_field, sample_parameters


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
