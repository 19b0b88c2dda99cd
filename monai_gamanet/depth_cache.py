"""The curve network's D channel: the depth model's estimate for every photo, computed once and cached on disk.

The paper's curve U-Net takes RGB + *estimated* depth. Estimating it inside every training epoch would run the depth
network on every photo again each time, so :func:`cache_depth` runs the ``back_depth_estimation`` bundle's own
network, preprocessing and inferer (from its ``inference.yaml``: nothing is copied) once over every photo of a
datalist and writes each estimate as a 16-bit PNG (0-65535 = relative depth 0-1, at the photo's own size) into a
folder named after a digest of the weights and the settings; a retrained depth model gets a new folder, an
unchanged one reuses its files. ``source="ground_truth"`` writes the sensor's depth, normalised like the depth
bundle's target, in the same format: the upper-bound row of Table 4, only when asked for.

Each item of the returned datalist gains ``"depth_relative"``: the cached PNG's path.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from monai_gamanet.data.files import atomic_write

__all__ = ["DEPTH_SOURCES", "cache_depth", "estimate_depth", "load_depth_model", "write_depth_png"]

logger = logging.getLogger(__name__)

DEPTH_SOURCES = ("estimated", "ground_truth")
DEPTH_KEY = "depth_relative"


def _digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()[:12]


def write_depth_png(path: Path, relative: np.ndarray) -> None:
    """(W, H) relative depth -> 16-bit PNG in display order (H, W), atomically."""
    values = np.round(np.clip(relative, 0.0, 1.0) * 65535).astype(np.uint16).T
    atomic_write(path, lambda tmp: Image.fromarray(values).save(tmp, format="PNG"))


def cache_depth(
    datalist: dict[str, list[dict]],
    cache_root: str | Path,
    source: str = "estimated",
    depth_bundle_root: str | Path | None = None,
    depth_percentiles: tuple[float, float] = (0.0, 100.0),
    device: str | torch.device | None = None,
    overrides: dict | None = None,
) -> dict[str, list[dict]]:
    """Cache the D channel of every photo of ``datalist`` and return the datalist with ``depth_relative`` paths.

    Args:
        datalist: ``{"training": [...], ...}`` with absolute ``image`` paths (and ``depth`` for ground truth).
        cache_root: folder of the caches; each source and model gets its own subfolder.
        source: ``"estimated"`` (the depth model's output) or ``"ground_truth"`` (the sensor's depth).
        depth_bundle_root: the trained ``back_depth_estimation`` bundle (its ``models/model.pt`` and configs).
        depth_percentiles: the ground truth's normalisation (the depth bundle's ``depth_percentiles``).
        device: where the depth model runs; default a GPU when there is one.
        overrides: settings of the depth bundle's ``inference.yaml`` the model was trained with (e.g.
            ``spatial_size``, ``network_name``), when not its defaults.

    Raises:
        ValueError: unknown source, or a ground-truth item without ``depth``.
        FileNotFoundError: no trained depth model.
    """
    if source not in DEPTH_SOURCES:
        raise ValueError(f"unknown depth source '{source}'; choose from {', '.join(DEPTH_SOURCES)}.")
    items = [item for split in datalist.values() for item in split]
    if source == "ground_truth":
        missing = [item["image"] for item in items if "depth" not in item]
        if missing:
            raise ValueError(f"source 'ground_truth' needs a 'depth' file for every photo; none for {missing[0]}.")
        folder = Path(cache_root) / f"ground_truth_{_digest(list(depth_percentiles))}"
        todo = [item for item in items if not _cached(folder, item).is_file()]
        if todo:
            _cache_ground_truth(todo, folder, depth_percentiles)
    else:
        folder = _cache_estimates(items, Path(cache_root), depth_bundle_root, device, overrides or {})
    return {
        split: [{**item, DEPTH_KEY: str(_cached(folder, item))} for item in entries]
        for split, entries in datalist.items()
    }


def _cached(folder: Path, item: dict) -> Path:
    return folder / f"{Path(item['image']).stem}_depth.png"


def _cache_ground_truth(items: list[dict], folder: Path, percentiles: tuple[float, float]) -> None:
    from monai_gamanet.transforms import LoadBackSampled, NormalizeDepth

    load, normalize = LoadBackSampled(keys="depth"), NormalizeDepth(*percentiles)
    for item in items:
        depth = load({"depth": item["depth"]})["depth"].float()
        write_depth_png(_cached(folder, item), normalize(depth)[0].numpy())
    logger.info("cached the normalised ground-truth depth of %d photos in %s", len(items), folder)


def load_depth_model(bundle_root: str | Path | None = None, overrides: dict | None = None, device=None) -> dict:
    """The trained depth bundle's network (weights loaded strictly, eval mode), preprocessing and inferer.

    Built from the bundle's own ``inference.yaml`` (nothing copied), ``bundle_root`` holding ``models/model.pt``
    (default: this repository's ``bundles/back_depth_estimation``). Returns a dict with ``network``,
    ``preprocessing``, ``inferer``, ``device``, ``weights`` (the path) and ``settings`` (network name, head, size).

    Raises:
        FileNotFoundError: no trained model in the bundle.
    """
    from monai_gamanet.bundle_runner import load_trained_network

    parser, network, weights = load_trained_network(
        "back_depth_estimation", "inference.yaml", "depth", bundle_root, overrides, device
    )
    return {
        "network": network,
        "preprocessing": parser.get_parsed_content("preprocessing"),
        "inferer": parser.get_parsed_content("inferer"),
        "device": parser.get_parsed_content("device"),
        "weights": weights,
        "settings": {k: parser.get_parsed_content(k) for k in ("network_name", "output_activation", "spatial_size")},
    }


def estimate_depth(model: dict, photo: str | Path) -> np.ndarray:
    """Relative depth (W, H) in [0, 1] of one photo at the photo's own size, by a :func:`load_depth_model` model."""
    from monai.transforms import Resize

    image = model["preprocessing"]({"image": str(photo)})["image"]
    with torch.inference_mode():
        pred = model["inferer"](image[None].to(model["device"]), model["network"])[0].float().cpu()
    size = tuple(int(s) for s in image.meta["spatial_shape"])  # the photo's own (W, H)
    return np.asarray(Resize(size, mode="bilinear")(pred)[0]).clip(0.0, 1.0)


def _cache_estimates(
    items: list[dict], cache_root: Path, bundle_root: str | Path | None, device, overrides: dict
) -> Path:
    model = load_depth_model(bundle_root, overrides, device)
    folder = cache_root / f"estimated_{_digest(model['weights'].read_bytes(), model['settings'])}"
    todo = [item for item in items if not _cached(folder, item).is_file()]
    if not todo:
        return folder
    logger.info("estimating the depth of %d photos with %s into %s", len(todo), model["weights"], folder)
    for k, item in enumerate(todo, 1):
        write_depth_png(_cached(folder, item), estimate_depth(model, item["image"]))
        if k % 50 == 0 or k == len(todo):
            logger.info("estimated depth: %d / %d photos", k, len(todo))
    return folder
