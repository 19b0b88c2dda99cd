"""Millimetres -> relative depth in [0, 1] over valid pixels; invalid pixels never count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from monai_gamanet.transforms import LoadBackSampled, NormalizeDepth, NormalizeDepthd


def _depth() -> torch.Tensor:
    d = torch.tensor([[[0.0, 1000.0, 1050.0], [1100.0, 0.0, 1020.0]]])  # (1, 2, 3)
    return d


def test_relative_depth_and_mask() -> None:
    out = NormalizeDepthd()({"depth": _depth()})
    expected = torch.tensor([[[0.0, 0.0, 0.5], [1.0, 0.0, 0.2]]])
    torch.testing.assert_close(out["depth"], expected)
    torch.testing.assert_close(out["depth_mask"], torch.tensor([[[0.0, 1, 1], [1, 0, 1]]]))


def test_invalid_pixels_change_nothing() -> None:
    base = NormalizeDepth()(_depth())
    other = _depth()
    other[0, 0, 0] = float("nan")
    other[0, 1, 1] = float("inf")
    torch.testing.assert_close(NormalizeDepth()(other), base)


def test_real_depth_png(phantom_dir: Path, datalist: dict) -> None:
    loaded = LoadBackSampled(keys="depth")({"depth": str(phantom_dir / datalist["training"][0]["depth"])})
    raw = loaded["depth"].clone()
    out = NormalizeDepthd()(loaded)
    valid = out["depth_mask"] > 0
    assert out["depth"][valid].min() == 0 and out["depth"][valid].max() == 1
    assert torch.all(out["depth"][~valid] == 0)
    lo, hi = out["depth"].meta["depth_range_mm"]
    torch.testing.assert_close(out["depth"][valid] * (hi - lo) + lo, raw[valid].float(), atol=1e-3, rtol=0)


def test_percentiles_clip() -> None:
    d = torch.arange(1, 101, dtype=torch.float32).reshape(1, 10, 10)
    out = NormalizeDepth(lower_percentile=10, upper_percentile=90)(MetaTensor(d))
    assert out.min() == 0 and out.max() == 1 and (out == 0).sum() > 1
    assert out.meta["depth_range_mm"][0] == pytest.approx(10.9, abs=0.01)


@pytest.mark.parametrize(
    "depth, message",
    [
        (torch.zeros((1, 4, 4)), "no valid pixel"),
        (torch.full((1, 4, 4), float("nan")), "no valid pixel"),
        (torch.full((1, 4, 4), 900.0), "no variation"),
        (torch.tensor([[[-5.0, 900.0], [950.0, 1000.0]]]), "negative"),
        (torch.ones((3, 4, 4)), "one channel"),
    ],
)
def test_bad_depth(depth: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NormalizeDepth()(depth)


def test_bad_percentiles() -> None:
    with pytest.raises(ValueError):
        NormalizeDepth(lower_percentile=50, upper_percentile=50)


def test_numpy_input() -> None:
    out = NormalizeDepth()(np.array([[[0, 1000, 1100]]], dtype=np.uint16))
    torch.testing.assert_close(out.as_tensor() if hasattr(out, "as_tensor") else out, torch.tensor([[[0.0, 0.0, 1.0]]]))
