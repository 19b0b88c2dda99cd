"""The curve network's cached D channel: 16-bit PNGs of the depth model's estimate (or, on request, the sensor's
normalised depth) in a folder named by the model and settings, computed once per photo."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from monai_gamanet.inference.depth import DepthPredictor
from monai_gamanet.inference.depth_cache import (
    DEPTH_KEY,
    CachedDepthd,
    DepthCache,
    cache_depth,
    depth_steps,
    write_depth_png,
)
from monai_gamanet.transforms import LoadBackSampled, NormalizeDepth

SMALL = {"spatial_size": [24, 48]}


def _png(path: Path) -> np.ndarray:
    """A cached depth PNG as (W, H) steps."""
    return np.asarray(Image.open(path)).T.astype(np.float64)


def _weights(bundle: Path) -> Path:
    """A bundle's trained weights."""
    return bundle / "models" / "model.pt"


def _items(phantom: Path) -> list[dict]:
    datalist = json.loads((phantom / "datalist.json").read_text())
    return [{k: str(phantom / v) for k, v in item.items()} for split in datalist.values() for item in split]


def test_depth_png_holds_the_16_bit_steps_in_display_order(tmp_path: Path) -> None:
    relative = np.array([[0.0, 0.5, 1.0], [-0.2, 1.3, 0.25]])  # (W, H) = (2, 3), out-of-range values clipped
    assert depth_steps(relative).tolist() == [[0, 32768, 65535], [0, 65535, 16384]]
    write_depth_png(tmp_path / "d.png", relative)
    png = Image.open(tmp_path / "d.png")
    assert png.size == (2, 3) and png.mode.startswith("I;16")  # PIL: (width, height)
    assert _png(tmp_path / "d.png").tolist() == depth_steps(relative).tolist()
    assert [p.name for p in tmp_path.iterdir()] == ["d.png"]  # written atomically: no temporary file left


def test_estimated_depth_is_the_models_estimate_cached_once_per_model(
    random_depth_bundle: Path, small_phantom_dir: Path, tmp_path: Path
) -> None:
    item = _items(small_phantom_dir)[0]
    cache = DepthCache(tmp_path / "cache", "estimated", random_depth_bundle, device="cpu", overrides=SMALL)
    path = cache.path(item)
    assert path.parent.name.startswith("estimated_") and path.name == f"{Path(item['image']).stem}_depth.png"
    expected = DepthPredictor.from_bundle(random_depth_bundle, SMALL, "cpu")(item["image"])
    np.testing.assert_array_equal(_png(path), depth_steps(expected))
    stamp = path.stat().st_mtime_ns
    assert cache.path(item) == path and path.stat().st_mtime_ns == stamp and cache.computed == 1
    again = DepthCache(tmp_path / "cache", "estimated", random_depth_bundle, device="cpu", overrides=SMALL)
    assert again.path(item) == path and again.computed == 0  # the same model and settings: the same files
    retrained = tmp_path / "retrained"  # other weights, the same settings: another folder (the digest of both)
    (retrained / "models").mkdir(parents=True)
    weights = {k: v.clone() for k, v in torch.load(_weights(random_depth_bundle), weights_only=True).items()}
    next(v for v in weights.values() if v.is_floating_point()).add_(0.01)
    torch.save(weights, _weights(retrained))
    assert DepthCache(tmp_path / "cache", "estimated", retrained, device="cpu", overrides=SMALL).folder() != path.parent


def test_ground_truth_depth_is_the_sensors_normalised_depth(small_phantom_dir: Path, tmp_path: Path) -> None:
    item = _items(small_phantom_dir)[1]
    path = DepthCache(tmp_path, "ground_truth", depth_percentiles=(1.0, 99.0)).path(item)
    assert path.parent.name.startswith("ground_truth_")
    sensor = LoadBackSampled(keys="depth")({"depth": item["depth"]})["depth"].float()
    np.testing.assert_array_equal(_png(path), depth_steps(NormalizeDepth(1.0, 99.0)(sensor)[0].numpy()))
    assert DepthCache(tmp_path, "ground_truth").folder() != path.parent  # another normalisation, another folder
    with pytest.raises(ValueError, match="needs a 'depth' file for every photo"):
        DepthCache(tmp_path, "ground_truth").path({"image": item["image"]})
    with pytest.raises(ValueError, match="unknown depth source 'sensor'"):
        DepthCache(tmp_path, "sensor")


def test_the_transform_adds_the_channel_unless_the_sample_has_one(small_phantom_dir: Path, tmp_path: Path) -> None:
    item = _items(small_phantom_dir)[2]
    added = CachedDepthd(keys="image", cache_dir=tmp_path, source="ground_truth")(item)
    assert Path(added[DEPTH_KEY]).is_file() and Path(added[DEPTH_KEY]).parent.parent == tmp_path
    assert {k: v for k, v in added.items() if k != DEPTH_KEY} == item
    in_memory = {**item, DEPTH_KEY: "the chain's estimate"}
    assert CachedDepthd(keys="image", cache_dir=tmp_path / "other", source="ground_truth")(in_memory) == in_memory
    assert not (tmp_path / "other").exists()


def test_a_whole_datalist_is_cached_up_front(small_phantom_dir: Path, tmp_path: Path) -> None:
    datalist = {"training": _items(small_phantom_dir)[:3], "test": _items(small_phantom_dir)[3:]}
    cached = cache_depth(datalist, tmp_path / "cache", "ground_truth")
    assert [len(cached[s]) for s in ("training", "test")] == [3, 1]
    for split in datalist:
        for before, after in zip(datalist[split], cached[split], strict=True):
            assert after == {**before, DEPTH_KEY: after[DEPTH_KEY]} and Path(after[DEPTH_KEY]).is_file()
    assert cache_depth(datalist, tmp_path / "cache", "ground_truth") == cached  # all cached: nothing recomputed
    no_depth = {"training": [{"image": datalist["training"][0]["image"]}, *datalist["training"][1:]]}
    with pytest.raises(ValueError, match="needs a 'depth' file"):
        cache_depth(no_depth, tmp_path / "refused", "ground_truth")
    assert not (tmp_path / "refused").exists()  # checked before anything is written
