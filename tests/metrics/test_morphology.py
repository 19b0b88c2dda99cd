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
