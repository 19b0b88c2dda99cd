"""Small conventions shared by losses, metrics and bundles."""

from __future__ import annotations

import torch

__all__ = ["require_file", "require_multiple", "require_nonempty", "split_depth_label"]


def split_depth_label(
    label: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Split a depth label that carries its valid-pixel mask.

    The depth bundle's label is ``(B, 2, W, H)``: channel 0 the relative depth, channel 1 the mask (1 = measured),
    so that MONAI's ``SupervisedTrainer`` / ``SupervisedEvaluator`` hand the mask to the loss and the metrics with
    no custom step. A one-channel label, or an explicit ``mask``, is returned as it is.
    """
    if mask is None and label.ndim == 4 and label.shape[1] == 2:
        return label[:, :1], label[:, 1:]
    return label, mask


def require_file(path: str, hint: str = "") -> str:
    """Return ``path`` if it is a file, else raise FileNotFoundError naming it (and what to do, ``hint``)."""
    from pathlib import Path

    if not Path(path).is_file():
        raise FileNotFoundError(f"file not found: {path}" + (f"; {hint}" if hint else ""))
    return str(path)


def require_nonempty(items: list, description: str) -> list:
    """Return ``items`` if it has any, else raise ValueError saying that ``description`` is empty."""
    if len(items) == 0:
        raise ValueError(f"{description} is empty: nothing to run on.")
    return items


def require_multiple(size: list[int], factor: int, description: str) -> list[int]:
    """Return ``size`` if every entry is a positive multiple of ``factor``, else raise ValueError saying why."""
    if not size or any(int(s) <= 0 or int(s) % factor for s in size):
        raise ValueError(f"{description} must be positive multiples of {factor}; got {list(size)}.")
    return size
