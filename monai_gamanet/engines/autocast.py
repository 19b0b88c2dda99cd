"""bf16 autocast for training and inference, on GPUs and on CPUs that compute bf16 natively.

MONAI's engines take ``amp=True`` but open ``torch.autocast("cuda")`` and a CUDA ``GradScaler`` whatever the
device, so they give no mixed precision on the CPU. The network's forward pass is the part that autocast
speeds up, and every MONAI engine runs it through its inferer: :class:`AutocastInferer` is MONAI's
``SimpleInferer`` with the call wrapped in ``torch.autocast`` on the input's device. Weights, optimiser state and
the loss stay float32 (the loss casts the prediction back), bf16 has float32's range, so no gradient scaler is
needed. The speed-up on a given machine is measured by ``benchmarks/depth_networks.py``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch
from monai.inferers import SimpleInferer

__all__ = ["NO_CPU_BF16", "PRECISIONS", "AutocastInferer", "autocast_dtype", "bf16_supported"]

PRECISIONS = ("auto", "bf16", "fp32")


# Set to 1 to run as on a CPU without native bf16 (most laptops: AVX2 only), e.g. to test the float32 path on a
# machine that has AVX512-BF16; inherited by every process a run starts.
NO_CPU_BF16 = "MONAI_GAMANET_NO_CPU_BF16"


@functools.cache
def _cpu_has_bf16() -> bool:
    if os.environ.get(NO_CPU_BF16, "") not in ("", "0"):
        return False
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    if probe is not None and probe():
        return True
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def bf16_supported(device: torch.device | str) -> bool:
    """Whether ``device`` computes bf16 natively: a CUDA GPU that reports it, or a CPU with AVX512-BF16 / AMX."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return _cpu_has_bf16()
    return False


def autocast_dtype(precision: str, device: torch.device | str) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device``: bf16, or None for plain float32.

    ``"auto"`` picks bf16 where :func:`bf16_supported` says so, float32 elsewhere; ``"bf16"`` insists (an error on a
    device without it, rather than a silent slow emulation); ``"fp32"`` never autocasts.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision '{precision}'; choose from {', '.join(PRECISIONS)}.")
    if precision == "fp32":
        return None
    if bf16_supported(device):
        return torch.bfloat16
    if precision == "bf16":
        raise ValueError(f"precision 'bf16' was asked for, but {torch.device(device)} has no native bf16; use 'auto'.")
    return None


class AutocastInferer(SimpleInferer):
    """MONAI's ``SimpleInferer`` under ``torch.autocast`` on the input's device; outputs are returned as float32.

    Args:
        precision: ``"auto"`` (bf16 where the device supports it, else float32), ``"bf16"`` or ``"fp32"``.
    """

    def __init__(self, precision: str = "auto") -> None:
        super().__init__()
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision '{precision}'; choose from {', '.join(PRECISIONS)}.")
        self.precision = precision

    def __call__(self, inputs: torch.Tensor, network, *args, **kwargs):
        dtype = autocast_dtype(self.precision, inputs.device)
        if dtype is None:
            return super().__call__(inputs, network, *args, **kwargs)
        with torch.autocast(device_type=inputs.device.type, dtype=dtype):
            out = super().__call__(inputs, network, *args, **kwargs)
        return out.float() if isinstance(out, torch.Tensor) else out
