"""MONAI's ``CacheDataset`` with its cache on a chosen device, filled from a disk cache that runs share.

Why not MONAI's classes alone: ``CacheDataset`` decodes and preprocesses every sample in every process. The
paper-tables runner trains nine networks on one phantom at once, so nine processes decoded the same 1,800 PNG
pairs before their first step (about two minutes each on the GPU machine, measured: most of a short GPU session).
MONAI's ``PersistentDataset`` keeps preprocessed samples on disk, shared between processes, but reads them from
disk at every epoch. :class:`SharedCacheDataset` keeps ``CacheDataset``'s in-memory (or on-GPU) cache and fills it
from ``PersistentDataset``'s disk cache, so the photos are decoded once for all the runs pointed at the folder.

This module imports MONAI; the rest of :mod:`monai_gamanet.data` does not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from multiprocessing.pool import ThreadPool
from pathlib import Path

import torch
from monai.data import CacheDataset, PersistentDataset

__all__ = ["SharedCacheDataset", "to_device"]


def to_device(item, device: torch.device | None):
    """``item`` (a tensor, or dicts / lists of them) with every tensor moved to ``device`` (None: unchanged)."""
    if device is None:
        return item
    if isinstance(item, torch.Tensor):
        return item.to(device)
    if isinstance(item, dict):
        return {k: to_device(v, device) for k, v in item.items()}
    if isinstance(item, list | tuple):
        return type(item)(to_device(v, device) for v in item)
    return item


class SharedCacheDataset(CacheDataset):
    """``CacheDataset`` whose cached samples live on ``device`` and come from a shared disk cache when given one.

    Args:
        data: the datalist items.
        transform: the preprocessing; its deterministic part (up to the first random transform) is cached.
        cache_dir: folder of the disk cache (MONAI's ``PersistentDataset`` files, one per item, keyed by a hash of
            the item; written atomically, so concurrent runs can share it). It must hold one preprocessing only:
            the bundles name it after the photo size and depth target. None: no disk cache.
        device: where the in-memory cache lives, e.g. ``"cuda"`` (no host-to-device copy per batch). None or
            ``"cpu"``: the host.
        kwargs: ``CacheDataset``'s (``cache_rate``, ``num_workers``, ...).
    """

    def __init__(
        self,
        data: Sequence,
        transform: Callable,
        cache_dir: str | Path | None = None,
        device: str | torch.device | None = None,
        **kwargs,
    ) -> None:
        self.device = torch.device(device) if device is not None else None
        self.disk = None
        if cache_dir is not None:
            # our own files: meta data kept (file names for the reports), loaded without the weights-only filter
            self.disk = PersistentDataset(data, transform, cache_dir=cache_dir, track_meta=True, weights_only=False)
        super().__init__(data, transform, **kwargs)

    def _load_cache_item(self, idx: int):
        if self.disk is None:
            item = super()._load_cache_item(idx)
        else:
            item = self.disk._cachecheck(self.data[idx])  # load, or preprocess and write for the other runs
        return to_device(item, self.device)

    def fill_disk_cache(self, workers: int = 1) -> int:
        """Preprocess every item not yet on disk (``workers`` threads); returns the number of items."""
        if self.disk is None:
            raise ValueError("no cache_dir was given: there is no disk cache to fill.")
        with ThreadPool(max(1, workers)) as pool:
            pool.map(self.disk._cachecheck, self.data)
        return len(self.data)
