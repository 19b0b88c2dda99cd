"""Band mask -> the spine's centre line, the one read-out of the morphology and of ``MaskToCurve``."""

from __future__ import annotations

import numpy as np
import pytest

from monai_gamanet.data.geometry import curve_to_band
from monai_gamanet.metrics.centre_line import NoCurveFound, centre_line
from monai_gamanet.transforms import MaskToCurve


def _s_curve(n: int = 80) -> np.ndarray:
    y = np.linspace(30.0, 420.0, n)
    return np.stack([120.0 + 25.0 * np.sin((y - 30.0) / 390.0 * 2 * np.pi), y], axis=1)


def test_round_trip_recovers_the_centre_line() -> None:
    points = _s_curve()
    band = curve_to_band(points, (240, 480), width=5.0)
    assert band.shape == (240, 480) and band.dtype == np.uint8
    traced = centre_line(band)
    expected_x = np.interp(traced[:, 1], points[:, 1], points[:, 0])
    assert np.abs(traced[:, 0] - expected_x).max() < 0.75
    assert traced[0, 1] == np.ceil(points[0, 1]) and traced[-1, 1] == np.floor(points[-1, 1])


def test_resampled_trace_and_the_transform_read_the_same_line() -> None:
    band = curve_to_band(_s_curve(), (240, 480))
    traced = centre_line(band, n_points=50)
    assert traced.shape == (50, 2) and np.all(np.diff(traced[:, 1]) > 0)
    assert np.array_equal(MaskToCurve(n_points=50)(band[None]), traced)


def test_empty_mask() -> None:
    with pytest.raises(NoCurveFound, match="empty"):
        centre_line(np.zeros((20, 30)))
    with pytest.raises(ValueError, match="2D"):
        centre_line(np.zeros((2, 20, 30)))
