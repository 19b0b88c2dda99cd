"""Curve points -> band mask, in MONAI's (x, y) axis order (the way back: tests/metrics/test_centre_line.py)."""

from __future__ import annotations

import numpy as np
import pytest

from monai_gamanet.data.geometry import curve_to_band


def test_band_width_is_measured_perpendicular() -> None:
    straight = np.array([[100.0, 10.0], [100.0, 200.0]])
    tilted = np.array([[100.0, 10.0], [290.0, 200.0]])  # 45 degrees
    assert curve_to_band(straight, (400, 220), 5.0)[:, 100].sum() == 5
    row_width = curve_to_band(tilted, (400, 220), 5.0)[:, 100].sum()
    assert row_width == pytest.approx(5 * np.sqrt(2), abs=1.0)


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
