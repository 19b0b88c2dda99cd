"""Depth metrics: hand-computed values, masking, clipping, alignment, and the MONAI cumulative metric."""

from __future__ import annotations

import math

import pytest
import torch

from monai_gamanet.metrics.depth import DEPTH_METRICS, DepthMetric, compute_depth_metrics


def test_hand_computed_case() -> None:
    target = torch.tensor([[[[0.5, 0.25]]]])
    pred = torch.tensor([[[[0.4, 0.5]]]])  # errors 0.1 and 0.25; ratios 1.25 and 2 (> 1.25^3 = 1.95)
    m = compute_depth_metrics(pred, target)
    assert m["abs_rel"] == pytest.approx((0.1 / 0.5 + 0.25 / 0.25) / 2)
    assert m["rmse"] == pytest.approx(math.sqrt((0.01 + 0.0625) / 2))
    assert m["sq_rel"] == pytest.approx((0.01 / 0.5 + 0.0625 / 0.25) / 2)
    assert (m["delta1"], m["delta2"], m["delta3"]) == pytest.approx((0.0, 0.5, 0.5))


def test_per_image_then_batch_average() -> None:
    target = torch.full((2, 1, 1, 4), 0.5)
    pred = target.clone()
    pred[1, 0, 0, :2] = 0.25  # image 1: half its pixels off by a ratio 2
    assert compute_depth_metrics(pred, target)["delta1"] == pytest.approx(0.75)


def test_masked_and_near_zero_pixels_are_not_scored() -> None:
    target = torch.tensor([[[[0.5, 0.0005, 0.3]]]])
    pred = torch.tensor([[[[0.5, 0.9, 0.9]]]])
    mask = torch.tensor([[[[1.0, 1.0, 0.0]]]])
    assert compute_depth_metrics(pred, target, mask) == pytest.approx(
        {"abs_rel": 0, "rmse": 0, "sq_rel": 0, "delta1": 1, "delta2": 1, "delta3": 1}
    )


def test_predictions_are_clipped_to_eps_and_one() -> None:
    target = torch.tensor([[[[0.01]]]])
    m = compute_depth_metrics(torch.tensor([[[[-5.0]]]]), target, eps=1e-3)
    assert m["abs_rel"] == pytest.approx((0.01 - 1e-3) / 0.01)


def test_scale_shift_alignment() -> None:
    target = torch.linspace(0.1, 1.0, 20).reshape(1, 1, 4, 5)
    pred = 0.5 * target - 0.02
    assert compute_depth_metrics(pred, target)["delta1"] < 0.5
    aligned = compute_depth_metrics(pred, target, align="scale_shift")
    assert aligned["abs_rel"] == pytest.approx(0.0, abs=1e-5) and aligned["delta1"] == 1.0


def test_cumulative_metric_matches_the_function() -> None:
    g = torch.Generator().manual_seed(0)
    target = torch.rand(4, 1, 8, 8, generator=g) * 0.9 + 0.05
    pred = (target + 0.05 * torch.randn(4, 1, 8, 8, generator=g)).clamp(0, 1)
    mask = (torch.rand(4, 1, 8, 8, generator=g) > 0.3).float()
    metric = DepthMetric()
    metric(pred[:2], target[:2], mask=mask[:2])
    metric(pred[2:], torch.cat([target[2:], mask[2:]], dim=1))  # mask carried as the label's second channel
    result = metric.aggregate()
    expected = compute_depth_metrics(pred, target, mask)
    assert {k: float(v) for k, v in result.items()} == pytest.approx(expected, rel=1e-5)
    single = DepthMetric("delta1")
    single(pred, target, mask=mask)
    assert float(single.aggregate()) == pytest.approx(expected["delta1"], rel=1e-5)


def test_unscorable_image_is_left_out() -> None:
    target, pred = torch.full((2, 1, 2, 2), 0.5), torch.full((2, 1, 2, 2), 0.5)
    mask = torch.ones_like(target)
    mask[1] = 0
    metric = DepthMetric(get_not_nans=True)
    metric(pred, target, mask=mask)
    values, not_nans = metric.aggregate()
    assert float(values["delta1"]) == 1.0 and not_nans.tolist() == [1.0] * len(DEPTH_METRICS)


def test_errors() -> None:
    with pytest.raises(ValueError, match="unknown depth metric"):
        DepthMetric("silog")
    with pytest.raises(ValueError, match="same shape"):
        compute_depth_metrics(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 3))
    with pytest.raises(ValueError, match="align"):
        compute_depth_metrics(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), align="median")
