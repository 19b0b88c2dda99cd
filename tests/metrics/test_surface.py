"""Surface rotation per level, measured on phantom depth maps whose true axial rotation is known."""

from __future__ import annotations

import numpy as np
import pytest

from monai_gamanet.data.synthetic import generate_sample
from monai_gamanet.metrics.levels import LEVELS
from monai_gamanet.metrics.surface import rotation_summary, surface_rotation


def _measured(n: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    truth, surface, sensor = [], [], []
    for i in range(n):
        sample = generate_sample(i, seed=11)
        doc, spacing = sample.curve, sample.curve["pixel_spacing_mm"]
        points = np.array([doc["surface_vertebrae"][lvl] for lvl in LEVELS])
        truth.append([doc["surface_rotation_deg"][lvl] for lvl in LEVELS])
        surface.append(surface_rotation(sample.surface.T, points, spacing))  # (W, H): MONAI's order
        sensor.append(surface_rotation(sample.depth.T.astype(np.float64), points, spacing))
    return np.concatenate(truth), np.concatenate(surface), np.concatenate(sensor)


def test_the_noise_free_surface_and_the_sensor_give_the_true_rotation() -> None:
    truth, surface, sensor = _measured()
    for measured, mae in ((surface, 0.5), (sensor, 0.8)):
        ok = np.isfinite(measured)
        assert ok.mean() > 0.9
        assert np.abs(measured[ok] - truth[ok]).mean() < mae
        assert np.corrcoef(measured[ok], truth[ok])[0, 1] > 0.9


def test_sign_scale_and_missing_measurements() -> None:
    width, height, spacing = 120, 200, 2.0
    x = (np.arange(width) - 60.0) * spacing
    tilt = np.tan(np.radians(4.0))
    depth = np.tile((1000.0 - tilt * x)[:, None], (1, height))  # the +x (right) side nearer: stands out
    points = np.array([[60.0, 50.0], [60.0, 150.0]])
    assert surface_rotation(depth, points, spacing) == pytest.approx([4.0, 4.0], abs=1e-6)
    assert surface_rotation(1.0 - depth / 2000.0, points, spacing)[0] < 0  # a depth that grows nearer: mirrored
    holes = depth.copy()
    holes[61:, 40:60] = 0  # no measurement right of the spine at the first level
    rotation = surface_rotation(holes, points, spacing)
    assert np.isnan(rotation[0]) and rotation[1] == pytest.approx(4.0, abs=1e-6)
    summary = rotation_summary(rotation, ["T8", "L2"])
    assert summary["surface_rotation_deg"] == {"L2": 4.0} and summary["surface_rotation_max_level"] == "L2"
    assert rotation_summary(np.full(2, np.nan), ["T8", "L2"])["surface_rotation_rms_deg"] is None
    with pytest.raises(ValueError, match="must be 2D"):
        surface_rotation(np.zeros((2, 3, 4)), points)
