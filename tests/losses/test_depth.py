"""BerHu, gradient and composite depth losses: closed-form values and masking."""

from __future__ import annotations

import pytest
import torch
from monai.losses import SSIMLoss

from monai_gamanet.losses import BerHuLoss, DepthLoss, GradientLoss


def _maps(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(2, 1, 24, 32, generator=g)
    pred = (target + 0.2 * torch.randn(2, 1, 24, 32, generator=g)).clamp(0, 1)
    mask = (torch.rand(2, 1, 24, 32, generator=g) > 0.2).float()
    return pred, target, mask


def test_berhu_is_l1_below_and_quadratic_above_the_threshold() -> None:
    target = torch.zeros(1, 1, 1, 4)
    pred = torch.tensor([[[[0.02, -0.05, 0.08, 0.3]]]])
    per_pixel = torch.tensor([0.02, 0.05, 0.08, (0.3**2 + 0.08**2) / (2 * 0.08)])
    for i in range(4):
        one = BerHuLoss(0.08)(pred[..., i : i + 1], target[..., i : i + 1])
        assert float(one) == pytest.approx(float(per_pixel[i]), rel=1e-6)
    assert float(BerHuLoss(0.08)(pred, target)) == pytest.approx(float(per_pixel.mean()), rel=1e-6)


def test_adaptive_berhu_uses_a_fifth_of_the_largest_error() -> None:
    target, pred = torch.zeros(1, 1, 1, 2), torch.tensor([[[[0.1, 1.0]]]])  # c = 0.2
    expected = (0.1 + (1.0 + 0.04) / 0.4) / 2
    assert float(BerHuLoss(adaptive=True)(pred, target)) == pytest.approx(expected, rel=1e-6)


def test_gradient_loss_hand_value() -> None:
    target = torch.zeros(1, 1, 2, 2)
    pred = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])  # differences along dim 3 only: 1 and 1
    assert float(GradientLoss()(pred, target)) == pytest.approx(1.0)  # dim 2: 0, dim 3: mean 1


@pytest.mark.parametrize("loss", [BerHuLoss(), BerHuLoss(adaptive=True), GradientLoss(), DepthLoss()])
def test_masked_pixels_change_nothing(loss: torch.nn.Module) -> None:
    pred, target, mask = _maps()
    other_pred, other_target = pred.clone(), target.clone()
    invalid = mask == 0
    other_pred[invalid], other_target[invalid] = 0.93, 0.11
    torch.testing.assert_close(loss(other_pred, other_target, mask), loss(pred, target, mask))
    assert not torch.isclose(loss(other_pred, target), loss(pred, target))


def test_masked_pixels_get_no_gradient() -> None:
    pred, target, mask = _maps()
    pred.requires_grad_(True)
    DepthLoss()(pred, target, mask).backward()
    assert torch.all(pred.grad[mask == 0] == 0) and torch.any(pred.grad[mask > 0] != 0)


def test_depth_loss_is_the_weighted_sum() -> None:
    pred, target, _ = _maps()
    loss = DepthLoss()
    expected = (
        5 * BerHuLoss(0.08)(pred, target)
        + SSIMLoss(2, data_range=1.0)(pred, target)
        + 0.5 * GradientLoss()(pred, target)
    )
    torch.testing.assert_close(loss(pred, target), expected)
    terms = DepthLoss(berhu_weight=1.0, ssim_weight=0.0, gradient_weight=0.0).terms(pred, target)
    assert list(terms) == ["berhu"]
    with pytest.raises(ValueError):
        DepthLoss(0.0, 0.0, 0.0)


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="same shape"):
        BerHuLoss()(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))
    with pytest.raises(ValueError, match=r"\(B, 1, W, H\)"):
        GradientLoss()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4))


def test_scale_shift_invariant_loss_ignores_scale_and_offset() -> None:
    pred, target, mask = _maps(3)
    ssi = DepthLoss(scale_shift_invariant=True)
    moved = 3.0 * pred - 0.7  # the same shape, another scale and offset
    assert float(ssi(moved, target, mask)) == pytest.approx(float(ssi(pred, target, mask)), rel=1e-4)
    assert float(DepthLoss()(moved, target, mask)) > 2 * float(DepthLoss()(pred, target, mask))
    perfect = 0.5 * target + 2.0
    assert float(ssi(perfect, target, mask)) < 1e-3
    moved.requires_grad_(True)
    ssi(moved, target, mask).backward()
    assert torch.isfinite(moved.grad).all() and moved.grad.abs().sum() > 0


def test_loss_runs_in_float32_on_bf16_predictions() -> None:
    pred, target, mask = _maps(4)
    full = DepthLoss()(pred, target, mask)
    half = DepthLoss()(pred.bfloat16(), target, mask)
    assert half.dtype == torch.float32 and float(half) == pytest.approx(float(full), rel=2e-2)
