"""The curve network's D channel: the depth model's estimate for every photo, computed once and cached on disk.

The paper's curve U-Net takes RGB + *estimated* depth. Estimating it inside every training epoch would run the depth
network on every photo again each time, so a :class:`DepthCache` runs the ``back_depth_estimation`` bundle's
:class:`~monai_gamanet.inference.depth.DepthPredictor` once per photo and writes each estimate as a 16-bit PNG
(0-65535 = relative depth 0-1, at the photo's own size) into a folder named after a digest of the weights and the
settings; a retrained depth model gets a new folder, an unchanged one reuses its files. ``source="ground_truth"``
writes the sensor's depth, normalised like the depth bundle's target, in the same format: the upper-bound row of
Table 4, only when asked for.

The curve bundle adds the channel with the transform :class:`CachedDepthd` (the depth model is loaded on the first
sample, not when the config is read); :func:`cache_depth` fills a cache for a whole datalist up front (experiments
that share one cache between runs).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Hashable, Mapping
from pathlib import Path

import numpy as np
import torch
from monai.transforms import MapTransform
from PIL import Image

from monai_gamanet.data.files import atomic_write
from monai_gamanet.inference.depth import DepthPredictor

__all__ = ["DEPTH_SOURCES", "CachedDepthd", "DepthCache", "cache_depth", "depth_steps", "write_depth_png"]

logger = logging.getLogger(__name__)

DEPTH_SOURCES = ("estimated", "ground_truth")
DEPTH_KEY = "depth_relative"  # the sample key of the curve network's D channel
DEPTH_STEPS = 65535  # the cached depth PNG's 16-bit steps: relative depth 0-1 = 0-65535


def _digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()[:12]


def depth_steps(relative: np.ndarray) -> np.ndarray:
    """Relative depth in [0, 1] -> the 16-bit steps (0-65535, rounded) a cached depth PNG stores, as floats."""
    return np.round(np.clip(np.asarray(relative, np.float64), 0.0, 1.0) * DEPTH_STEPS)


def write_depth_png(path: Path, relative: np.ndarray) -> None:
    """(W, H) relative depth -> 16-bit PNG in display order (H, W), atomically."""
    values = depth_steps(relative).astype(np.uint16).T
    atomic_write(path, lambda tmp: Image.fromarray(values).save(tmp, format="PNG"))


class DepthCache:
    """The cached D channel of photos: :meth:`path` gives a photo's cached depth PNG, computing it if absent.

    Args:
        cache_root: folder of the caches; each source and model gets its own subfolder.
        source: ``"estimated"`` (the depth model's output) or ``"ground_truth"`` (the sensor's depth).
        depth_bundle_root: the trained ``back_depth_estimation`` bundle (its ``models/model.pt`` and configs).
        depth_percentiles: the ground truth's normalisation (the depth bundle's ``depth_percentiles``).
        device: where the depth model runs; default a GPU when there is one.
        overrides: settings of the depth bundle's ``inference.yaml`` the model was trained with (e.g.
            ``spatial_size``, ``network_name``), when not its defaults.

    The depth model is loaded on the first photo that needs it (thread-safe: MONAI's ``CacheDataset`` fills its
    cache from several threads).

    Raises:
        ValueError: unknown source.
    """

    def __init__(
        self,
        cache_root: str | Path,
        source: str = "estimated",
        depth_bundle_root: str | Path | None = None,
        depth_percentiles: tuple[float, float] = (0.0, 100.0),
        device: str | torch.device | None = None,
        overrides: Mapping | None = None,
    ) -> None:
        if source not in DEPTH_SOURCES:
            raise ValueError(f"unknown depth source '{source}'; choose from {', '.join(DEPTH_SOURCES)}.")
        self.cache_root, self.source = Path(cache_root), source
        self.depth_bundle_root, self.device, self.overrides = depth_bundle_root, device, dict(overrides or {})
        self.percentiles = tuple(float(p) for p in depth_percentiles)
        self._model: DepthPredictor | None = None
        self._folder: Path | None = None
        self._lock = threading.Lock()
        self.computed = 0  # photos whose D channel this cache computed (the rest were cached already)

    def folder(self) -> Path:
        """This source's and model's subfolder (loading the depth model, for its digest, the first time)."""
        with self._lock:
            if self._folder is None:
                if self.source == "ground_truth":
                    self._folder = self.cache_root / f"ground_truth_{_digest(list(self.percentiles))}"
                else:
                    model = DepthPredictor.from_bundle(self.depth_bundle_root, self.overrides, self.device)
                    digest = _digest(model.weights.read_bytes(), model.settings)
                    self._model, self._folder = model, self.cache_root / f"estimated_{digest}"
            return self._folder

    def cached(self, item: Mapping) -> Path:
        """Where the photo's D channel is (or will be) cached."""
        return self.folder() / f"{Path(item['image']).stem}_depth.png"

    def path(self, item: Mapping) -> Path:
        """The photo's cached depth PNG, computed now if absent.

        Raises:
            ValueError: source ``ground_truth`` and the item has no ``depth`` file.
            FileNotFoundError: no trained depth model (source ``estimated``).
        """
        path = self.cached(item)
        if not path.is_file():
            write_depth_png(path, self._compute(item))
            with self._lock:
                self.computed += 1
                if self.computed == 1 or self.computed % 50 == 0:
                    what = self._model.weights if self._model is not None else "the sensor's depth"
                    logger.info(
                        "%s depth: %d photo(s) computed from %s into %s", self.source, self.computed, what, path.parent
                    )
        return path

    def _compute(self, item: Mapping) -> np.ndarray:
        if self.source == "estimated":
            return self._model(item["image"])
        if "depth" not in item:
            raise ValueError(f"source 'ground_truth' needs a 'depth' file for every photo; none for {item['image']}.")
        from monai_gamanet.transforms import LoadBackSampled, NormalizeDepth

        depth = LoadBackSampled(keys="depth")({"depth": item["depth"]})["depth"].float()
        return NormalizeDepth(*self.percentiles)(depth)[0].numpy()


class CachedDepthd(MapTransform):
    """Add the photo's cached D channel to a sample: ``depth_key`` (default ``depth_relative``) = the path of its
    16-bit depth PNG (a :class:`DepthCache` of the given settings), which the bundle's loader then reads.

    Placed first in the curve bundle's preprocessing, so a ``CacheDataset`` runs the depth model once per photo,
    while its cache is filled; reading the config runs nothing. A sample that already carries its D channel (the
    in-memory estimate of :class:`~monai_gamanet.inference.chain.SpineChain`) keeps it.
    """

    def __init__(
        self,
        keys="image",
        cache_dir: str | Path = "depth_cache",
        source: str = "estimated",
        depth_bundle_root: str | Path | None = None,
        depth_percentiles: tuple[float, float] = (0.0, 100.0),
        overrides: Mapping | None = None,
        device: str | torch.device | None = None,
        depth_key: str = DEPTH_KEY,
    ) -> None:
        super().__init__(keys)
        self.cache = DepthCache(cache_dir, source, depth_bundle_root, depth_percentiles, device, overrides)
        self.depth_key = depth_key

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            if self.depth_key not in d:
                d[self.depth_key] = str(self.cache.path({**d, "image": d[key]}))
        return d


def cache_depth(
    datalist: dict[str, list[dict]],
    cache_root: str | Path,
    source: str = "estimated",
    depth_bundle_root: str | Path | None = None,
    depth_percentiles: tuple[float, float] = (0.0, 100.0),
    device: str | torch.device | None = None,
    overrides: dict | None = None,
) -> dict[str, list[dict]]:
    """Cache the D channel of every photo of ``datalist`` (a :class:`DepthCache` of these settings) and return the
    datalist with each item's ``depth_relative`` path.

    Raises:
        ValueError: unknown source, or a ground-truth item without ``depth`` (checked before anything is written).
        FileNotFoundError: no trained depth model.
    """
    cache = DepthCache(cache_root, source, depth_bundle_root, depth_percentiles, device, overrides)
    items = [item for split in datalist.values() for item in split]
    if source == "ground_truth":
        missing = [item["image"] for item in items if "depth" not in item]
        if missing:
            raise ValueError(f"source 'ground_truth' needs a 'depth' file for every photo; none for {missing[0]}.")
    todo = [item for item in items if not cache.cached(item).is_file()]
    for item in todo:
        cache.path(item)
    if todo:
        logger.info("%s depth of %d photos cached in %s", source, len(todo), cache.folder())
    return {
        split: [{**item, DEPTH_KEY: str(cache.cached(item))} for item in entries] for split, entries in datalist.items()
    }
