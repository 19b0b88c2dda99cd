"""bf16 autocast on the CPU where it is native, float32 elsewhere, through a MONAI inferer."""

from __future__ import annotations

import pytest
import torch

from monai_gamanet.engines import AutocastInferer, autocast_dtype, bf16_supported
from monai_gamanet.engines import autocast as autocast_module
from monai_gamanet.networks import create_depth_network


def test_precision_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    assert autocast_dtype("fp32", "cpu") is None
    monkeypatch.setattr(autocast_module, "_cpu_has_bf16", lambda: True)
    assert bf16_supported("cpu") and autocast_dtype("auto", "cpu") == torch.bfloat16
    assert autocast_dtype("bf16", "cpu") == torch.bfloat16
    monkeypatch.setattr(autocast_module, "_cpu_has_bf16", lambda: False)
    assert autocast_dtype("auto", "cpu") is None  # falls back to float32 quietly
    with pytest.raises(ValueError, match="no native bf16"):
        autocast_dtype("bf16", "cpu")  # asked for explicitly: an error, not a silent emulation
    with pytest.raises(ValueError, match="unknown precision"):
        AutocastInferer("fp16")


def test_inferer_runs_the_network_in_bf16_and_returns_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(autocast_module, "_cpu_has_bf16", lambda: True)  # autocast itself works on any CPU
    torch.manual_seed(0)
    net = create_depth_network("gamanet", output_activation="sigmoid").eval()
    x = torch.rand(1, 3, 48, 96)
    seen = []
    hook = net.head.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    with torch.inference_mode():
        full, half = AutocastInferer("fp32")(x, net), AutocastInferer("bf16")(x, net)
    hook.remove()
    assert seen == [torch.float32, torch.bfloat16]
    assert half.dtype == torch.float32 and (half - full).abs().max() < 0.05


def test_the_environment_can_ask_for_the_float32_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """MONAI_GAMANET_NO_CPU_BF16=1 makes a bf16 CPU behave as an AVX2-only one (the float32 path most users take)."""
    monkeypatch.setenv(autocast_module.NO_CPU_BF16, "1")
    autocast_module._cpu_has_bf16.cache_clear()
    try:
        assert not bf16_supported("cpu") and autocast_dtype("auto", "cpu") is None
    finally:
        monkeypatch.delenv(autocast_module.NO_CPU_BF16)
        autocast_module._cpu_has_bf16.cache_clear()
