from __future__ import annotations

import json
from pathlib import Path

import pytest

from monai_gamanet.data.datalist import list_photos, load_datalist, split_indices


@pytest.mark.parametrize(
    "n, sizes", [(100, (80, 10, 10)), (10, (8, 1, 1)), (3, (1, 1, 1)), (2, (2, 0, 0)), (1, (1, 0, 0))]
)
def test_split_811(n: int, sizes: tuple[int, int, int]) -> None:
    splits = split_indices(n, seed=0)
    assert tuple(len(splits[k]) for k in ("training", "validation", "test")) == sizes
    assert sorted(sum(splits.values(), [])) == list(range(n))
    assert split_indices(n, seed=0) == splits


def test_load_datalist_resolves_paths(phantom_dir: Path) -> None:
    data = load_datalist(phantom_dir / "datalist.json")
    assert all(Path(e["image"]).is_absolute() and Path(e["image"]).is_file() for e in data["training"])


def test_load_datalist_names_missing_files(tmp_path: Path) -> None:
    (tmp_path / "datalist.json").write_text(json.dumps({"training": [{"image": "images/none.png"}]}))
    with pytest.raises(FileNotFoundError, match="none.png"):
        load_datalist(tmp_path / "datalist.json")
    with pytest.raises(FileNotFoundError, match="datalist not found"):
        load_datalist(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_datalist(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"foo": []}))
    with pytest.raises(ValueError, match="none of the lists"):
        load_datalist(tmp_path / "other.json")


def test_photos_to_infer_from_a_folder_one_photo_or_a_datalist(phantom_dir: Path, datalist: dict) -> None:
    folder = list_photos(phantom_dir / "images")
    assert len(folder) == 10 and all(Path(item["image"]).is_absolute() for item in folder)
    one = phantom_dir / datalist["test"][0]["image"]
    assert list_photos(one) == [{"image": str(one.resolve())}]
    assert [Path(i["image"]).name for i in list_photos(phantom_dir / "datalist.json")] == [
        Path(e["image"]).name for e in datalist["test"]
    ]
    with pytest.raises(FileNotFoundError, match="no photo folder or datalist"):
        list_photos(phantom_dir / "nothing_here")
