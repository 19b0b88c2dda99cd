"""Curve segmentation metrics (Table 4): hand-computed values and the masks' shape contract."""

from __future__ import annotations

import pytest
import torch

from monai_gamanet.metrics.curve import CURVE_METRICS, compute_curve_metrics


def test_curve_metrics_hand_case() -> None:
    target = torch.zeros(1, 1, 10, 10)
    target[..., 2:6, 4] = 1  # 4 curve pixels
    pred = torch.zeros_like(target)
    pred[..., 3:7, 4] = 1  # 3 hits, 1 false positive, 1 miss
    m = compute_curve_metrics(pred, target)
    assert m["iou"] == pytest.approx(3 / 5) and m["dice"] == pytest.approx(6 / 8)
    assert m["accuracy"] == pytest.approx(98 / 100) and m["sensitivity"] == pytest.approx(3 / 4)
    assert m["specificity"] == pytest.approx(95 / 96)


def test_batch_average_thresholds_and_shape_errors() -> None:
    target = torch.zeros(2, 1, 4, 4)
    target[:, :, 1, :] = 1
    pred = target * 0.6  # above 0.5: curve
    pred[1] = 0.4  # image 1: nothing predicted
    m = compute_curve_metrics(pred, target)
    assert list(m) == list(CURVE_METRICS)
    assert m["iou"] == pytest.approx(0.5) and m["dice"] == pytest.approx(0.5) and m["sensitivity"] == pytest.approx(0.5)
    assert m["specificity"] == pytest.approx(1.0) and m["accuracy"] == pytest.approx((16 + 12) / 32)
    with pytest.raises(ValueError, match=r"\(B, 1, W, H\)"):
        compute_curve_metrics(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match="one shape"):
        compute_curve_metrics(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))
