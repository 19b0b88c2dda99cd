"""The bundles' learning-rate schedules: the paper's constant rate, or a warm-up then a cosine, resumable."""

from __future__ import annotations

import pytest
import torch

from monai_gamanet.engines import create_lr_scheduler


def _rates(scheduler: torch.optim.lr_scheduler.LRScheduler, steps: int) -> list[float]:
    optimizer = scheduler.optimizer
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def _adam(lr: float) -> torch.optim.Optimizer:
    return torch.optim.Adam(torch.nn.Linear(2, 1).parameters(), lr=lr)


def test_constant_is_the_papers_rate_throughout() -> None:
    assert _rates(create_lr_scheduler(_adam(1e-4)), 7) == [1e-4] * 7


def test_warmup_then_cosine_reaches_the_peak_after_the_warmup_and_ends_near_zero() -> None:
    rates = _rates(create_lr_scheduler(_adam(1e-3), "warmup_cosine", epochs=4, steps_per_epoch=5), 20)
    assert rates[0] == 0.0 and rates[5] == pytest.approx(1e-3)  # one epoch (5 steps) of linear warm-up
    assert all(a < b for a, b in zip(rates[:5], rates[1:6], strict=True))
    assert all(a >= b for a, b in zip(rates[5:], rates[6:], strict=False)) and rates[-1] < 2e-5


def test_a_resumed_schedule_continues_where_it_stopped() -> None:
    whole = _rates(create_lr_scheduler(_adam(1e-3), "warmup_cosine", epochs=3, steps_per_epoch=4), 12)
    first = create_lr_scheduler(_adam(1e-3), "warmup_cosine", epochs=3, steps_per_epoch=4)
    _rates(first, 6)
    # as a resumed bundle run does: everything built from the config, then the checkpoint's states loaded
    second = create_lr_scheduler(_adam(1e-3), "warmup_cosine", epochs=3, steps_per_epoch=4)
    second.optimizer.load_state_dict(first.optimizer.state_dict())
    second.load_state_dict(first.state_dict())
    assert _rates(second, 6) == pytest.approx(whole[6:])


def test_an_unknown_schedule_is_named() -> None:
    with pytest.raises(ValueError, match="unknown lr_schedule 'step'"):
        create_lr_scheduler(_adam(1e-3), "step")
