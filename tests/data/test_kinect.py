"""Importing Azure Kinect captures into a studies folder: photos on top, depth and curves as label tags, bad
captures reported and skipped whole."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from monai_gamanet.cli.kinect import main
from monai_gamanet.data.kinect import find_captures, import_captures


def _captures(root: Path, phantom_dir: Path, entries: list[dict], layout: str) -> Path:
    for entry in entries:
        name = Path(entry["image"]).stem
        if layout == "folders":
            files = {"color": f"color/{name}.png", "depth": f"depth/{name}.png", "label": f"labels/{name}.png"}
        else:
            files = {"color": f"{name}_color.png", "depth": f"{name}_depth.png", "label": f"{name}_label.png"}
        for key, source in (("color", "image"), ("depth", "depth"), ("label", "label")):
            (root / files[key]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(phantom_dir / entry[source], root / files[key])
    return root


def test_good_captures_land_as_photos_with_depth_and_curve_tags(tmp_path: Path, phantom_dir: Path, datalist: dict):
    entries = datalist["training"][:3]
    captures = _captures(tmp_path / "captures", phantom_dir, entries, "folders")
    studies = tmp_path / "studies"
    report = import_captures(captures, studies)
    names = sorted(Path(e["image"]).stem for e in entries)
    assert sorted(report["imported"]) == names and report["skipped"] == {}
    assert sorted(p.stem for p in studies.glob("*.png")) == names  # only photos at the top
    for entry in entries:
        name = Path(entry["image"]).stem
        depth = Image.open(studies / "labels" / "depth" / f"{name}.png")
        assert (
            depth.mode.startswith("I")
            and (studies / f"{name}.png").read_bytes() == (phantom_dir / entry["image"]).read_bytes()
        )
        curve = np.asarray(Image.open(studies / "labels" / "final" / f"{name}.png"))
        assert set(np.unique(curve)) == {0, 1}
    again = import_captures(captures, studies)  # already there: reported, nothing overwritten
    assert again["imported"] == [] and all("already in the studies folder" in p[0] for p in again["skipped"].values())


def test_bad_captures_are_reported_and_nothing_is_half_imported(tmp_path: Path, phantom_dir: Path, datalist: dict):
    entries = datalist["training"][:4]
    captures = _captures(tmp_path / "captures", phantom_dir, entries, "side by side")
    a, b, c, d = (Path(e["image"]).stem for e in entries)
    (captures / f"{a}_depth.png").unlink()  # photo without depth
    (captures / f"{b}_color.png").unlink()  # depth without photo
    Image.fromarray(np.full((10, 10), 1000, np.uint16)).save(captures / f"{c}_depth.png")  # wrong size
    (captures / "odd name!_color.png").write_bytes((phantom_dir / entries[3]["image"]).read_bytes())
    studies = tmp_path / "studies"
    assert set(find_captures(captures)) == {a, b, c, d, "odd name!"}
    code = main([str(captures), "--studies", str(studies)])
    assert code == 1
    assert sorted(p.name for p in studies.glob("*.png")) == [f"{d}.png"]
    files = sorted(str(p.relative_to(studies)) for p in studies.rglob("*") if p.is_file())
    assert files == [f"{d}.png", f"labels/depth/{d}.png", f"labels/final/{d}.png"]  # no leftovers of the others
    report = import_captures(captures, tmp_path / "dry", dry_run=True)
    assert "no depth map" in report["skipped"][a] and any("no photo" in p for p in report["skipped"][b])
    assert any("10 x 10" in p for p in report["skipped"][c])
    assert not (tmp_path / "dry").exists()  # a dry run makes nothing
