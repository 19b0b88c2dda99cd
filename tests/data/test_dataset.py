"""Finding the dataset a bundle trains on: the bundle's own phantom generated where it is missing, any other
missing folder or datalist a clear error (a mistyped path to real data is never filled with phantoms)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from monai_gamanet.data.dataset import prepare_dataset


def test_the_bundles_phantom_is_generated_once_where_it_is_missing(tmp_path: Path) -> None:
    phantom = tmp_path / "bundle" / "dataset"
    splits = prepare_dataset(phantom, phantom_dir=phantom, n=3, seed=1, height=96, width=48)
    assert [len(splits[s]) for s in ("training", "validation", "test")] == [1, 1, 1]
    for item in (item for split in splits.values() for item in split):
        assert all(Path(p).is_absolute() and Path(p).is_file() for p in item.values())
        assert Image.open(item["image"]).size == (48, 96)  # PIL: (width, height)
    stamp = (phantom / "datalist.json").stat().st_mtime_ns
    assert prepare_dataset(str(phantom), phantom_dir=str(phantom), n=50) == splits  # found: not generated again
    assert (phantom / "datalist.json").stat().st_mtime_ns == stamp


def test_other_missing_folders_and_datalists_are_errors(tmp_path: Path) -> None:
    typo = tmp_path / "my_real_dat"
    with pytest.raises(FileNotFoundError, match="dataset folder not found: .*my_real_dat"):
        prepare_dataset(typo, phantom_dir=tmp_path / "dataset")
    assert not typo.exists()
    with pytest.raises(FileNotFoundError, match="dataset folder not found"):
        prepare_dataset(typo)  # no phantom folder at all
    typo.mkdir()
    with pytest.raises(FileNotFoundError, match="no datalist.json in .*'training', 'validation' and 'test'"):
        prepare_dataset(typo)


def test_a_datalist_of_another_name(tmp_path: Path) -> None:
    (tmp_path / "photo.png").write_bytes(b"")
    (tmp_path / "split.json").write_text(json.dumps({"training": [{"image": "photo.png"}], "test": []}))
    splits = prepare_dataset(tmp_path, datalist="split.json")
    assert splits["training"] == [{"image": str(tmp_path / "photo.png")}] and splits["test"] == []
