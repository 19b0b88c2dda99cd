"""SharedCacheDataset: the in-memory cache on a device, filled from a disk cache that a second run reuses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from monai.transforms import Compose, MapTransform

from monai_gamanet.data.cache import SharedCacheDataset, to_device


class CountingLoad(MapTransform):
    """Loads a .npy file into a MetaTensor (file name in its meta), counting its calls: the expensive step."""

    calls = 0

    def __call__(self, data):
        CountingLoad.calls += 1
        d = dict(data)
        for key in self.keys:
            d[key] = MetaTensor(torch.from_numpy(np.load(d[key])), meta={"filename_or_obj": str(d[key])})
        return d


@pytest.fixture
def items(tmp_path: Path) -> list[dict]:
    out = []
    for i in range(4):
        path = tmp_path / f"img_{i}.npy"
        np.save(path, np.full((1, 3, 2), i, dtype=np.float32))
        out.append({"image": str(path)})
    return out


def test_second_run_reads_the_disk_cache_instead_of_preprocessing(tmp_path: Path, items: list[dict]) -> None:
    cache = tmp_path / "cache"
    transform = Compose([CountingLoad(keys="image")])
    CountingLoad.calls = 0
    first = SharedCacheDataset(items, transform, cache_dir=cache, device="cpu", progress=False)
    assert CountingLoad.calls == 4 and len(list(cache.glob("*.pt"))) == 4
    second = SharedCacheDataset(items, transform, cache_dir=cache, device="cpu", progress=False)
    assert CountingLoad.calls == 4  # nothing decoded again
    for i in range(4):
        a, b = first[i]["image"], second[i]["image"]
        assert torch.equal(a, b) and float(b.max()) == i
        assert isinstance(b, MetaTensor) and b.meta["filename_or_obj"].endswith(f"img_{i}.npy")  # names kept


def test_fill_then_train_and_no_disk_cache(tmp_path: Path, items: list[dict]) -> None:
    transform = Compose([CountingLoad(keys="image")])
    CountingLoad.calls = 0
    filler = SharedCacheDataset(items, transform, cache_dir=tmp_path / "c", cache_rate=0.0, progress=False)
    assert CountingLoad.calls == 0 and filler.fill_disk_cache(workers=2) == 4 and CountingLoad.calls == 4
    SharedCacheDataset(items, transform, cache_dir=tmp_path / "c", progress=False)
    assert CountingLoad.calls == 4
    plain = SharedCacheDataset(items, transform, progress=False)  # MONAI's CacheDataset behaviour
    assert CountingLoad.calls == 8 and float(plain[3]["image"].max()) == 3
    with pytest.raises(ValueError, match="no cache_dir"):
        plain.fill_disk_cache()


def test_to_device_moves_nested_tensors_only() -> None:
    item = {"a": torch.zeros(1), "b": [torch.ones(1), "name"], "c": 3}
    moved = to_device(item, torch.device("cpu"))
    assert moved["b"][1] == "name" and moved["c"] == 3 and moved["a"].device.type == "cpu"
    assert to_device(item, None) is item
