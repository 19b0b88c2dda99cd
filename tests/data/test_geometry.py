"""Curve points <-> band mask round trip, in MONAI's (x, y) axis order."""

from __future__ import annotations

import numpy as np
import pytest

from monai_gamanet.data.geometry import band_to_curve, curve_to_band


def _s_curve(n: int = 80) -> np.ndarray:
    y = np.linspace(30.0, 420.0, n)
    return np.stack([120.0 + 25.0 * np.sin((y - 30.0) / 390.0 * 2 * np.pi), y], axis=1)


def test_round_trip_recovers_the_centre_line() -> None:
    points = _s_curve()
    band = curve_to_band(points, (240, 480), width=5.0)
    assert band.shape == (240, 480) and band.dtype == np.uint8
    traced = band_to_curve(band)
    expected_x = np.interp(traced[:, 1], points[:, 1], points[:, 0])
    assert np.abs(traced[:, 0] - expected_x).max() < 0.75
    assert traced[0, 1] == np.ceil(points[0, 1]) and traced[-1, 1] == np.floor(points[-1, 1])


def test_band_width_is_measured_perpendicular() -> None:
    straight = np.array([[100.0, 10.0], [100.0, 200.0]])
    tilted = np.array([[100.0, 10.0], [290.0, 200.0]])  # 45 degrees
    assert curve_to_band(straight, (400, 220), 5.0)[:, 100].sum() == 5
    row_width = curve_to_band(tilted, (400, 220), 5.0)[:, 100].sum()
    assert row_width == pytest.approx(5 * np.sqrt(2), abs=1.0)


def test_resampled_trace() -> None:
    traced = band_to_curve(curve_to_band(_s_curve(), (240, 480)), n_points=50)
    assert traced.shape == (50, 2) and np.all(np.diff(traced[:, 1]) > 0)


@pytest.mark.parametrize(
    "points, message",
    [
        (np.zeros((1, 2)), "N >= 2"),
        (np.array([[1.0, 5.0], [2.0, 4.0]]), "increasing y"),
        (np.array([[1.0, 1.0], [np.nan, 4.0]]), "NaN"),
        (np.zeros((4, 3)), "N >= 2"),
    ],
)
def test_bad_points(points: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        curve_to_band(points, (50, 50))


def test_empty_mask() -> None:
    with pytest.raises(ValueError, match="empty"):
        band_to_curve(np.zeros((20, 30)))
    with pytest.raises(ValueError, match="2D"):
        band_to_curve(np.zeros((2, 20, 30)))
