"""The phantom generator writes the data contract of DESIGN.md, reproducibly, within the documented bounds."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image

from monai_gamanet.data.geometry import curve_to_band
from monai_gamanet.data.synthetic import GENERATOR_VERSION, generate_dataset, generate_sample, regenerate
from monai_gamanet.metrics.morphology import measure_spine, severity_class
from tests.conftest import N_SAMPLES, SEED

# bounds stated in the README ("Synthetic back phantom")
DEPTH_RANGE_MM = (700, 1400)
BACK_RELIEF_MM = (60, 170)
HOLE_FRACTION_IN_BODY = (0.005, 0.12)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_layout_and_datalist(phantom_dir: Path, datalist: dict) -> None:
    assert {"training", "validation", "test"} == set(datalist)
    assert [len(datalist[k]) for k in ("training", "validation", "test")] == [8, 1, 1]
    entries = [e for split in datalist.values() for e in split]
    assert len({e["image"] for e in entries}) == N_SAMPLES
    for entry in entries:
        assert set(entry) == {"image", "depth", "label", "curve"}
        for rel in entry.values():
            assert not Path(rel).is_absolute() and (phantom_dir / rel).is_file()
    assert (phantom_dir / "preview.png").is_file()
    assert Image.open(phantom_dir / "preview.png").size[0] > 500
    assert not [p for p in phantom_dir.rglob(".*") if p.is_file()], "temporary files left behind"
    umask = os.umask(0)
    os.umask(umask)
    assert (phantom_dir / "datalist.json").stat().st_mode & 0o777 == 0o666 & ~umask


def test_files_read_back_with_pil(phantom_dir: Path, datalist: dict) -> None:
    for entry in datalist["training"][:3]:
        photo, depth, label = (Image.open(phantom_dir / entry[k]) for k in ("image", "depth", "label"))
        assert photo.mode == "RGB" and photo.size == (240, 480)  # PIL size is (width, height)
        assert depth.mode.startswith("I;16") and depth.size == (240, 480)
        assert label.mode == "L" and set(np.unique(np.asarray(label))) == {0, 1}


def test_files_read_back_with_simpleitk(phantom_dir: Path, datalist: dict) -> None:
    entry = datalist["training"][0]
    photo = sitk.ReadImage(str(phantom_dir / entry["image"]))
    depth = sitk.ReadImage(str(phantom_dir / entry["depth"]))
    assert photo.GetSize() == (240, 480) and photo.GetNumberOfComponentsPerPixel() == 3
    assert depth.GetPixelID() == sitk.sitkUInt16
    np.testing.assert_array_equal(sitk.GetArrayFromImage(depth), np.asarray(Image.open(phantom_dir / entry["depth"])))


def test_depth_within_documented_bounds(phantom_dir: Path, datalist: dict, curve_docs: list[dict]) -> None:
    entries = sorted((e for split in datalist.values() for e in split), key=lambda e: e["image"])
    for entry, doc in zip(entries, curve_docs, strict=True):
        depth = np.asarray(Image.open(phantom_dir / entry["depth"])).astype(np.int64)
        valid = depth[depth > 0]
        assert DEPTH_RANGE_MM[0] <= valid.min() and valid.max() <= DEPTH_RANGE_MM[1]
        relief = np.percentile(valid, 99.5) - np.percentile(valid, 0.5)
        assert BACK_RELIEF_MM[0] <= relief <= BACK_RELIEF_MM[1], relief
        assert HOLE_FRACTION_IN_BODY[0] <= doc["depth"]["hole_fraction_in_body"] <= HOLE_FRACTION_IN_BODY[1]
        assert doc["depth"]["range_mm"] == [int(valid.min()), int(valid.max())]
        waist_row = depth[int(0.6 * depth.shape[0])]
        assert waist_row[0] == 0 and waist_row[-1] == 0, "background beside the waist must be 'no measurement'"


def test_cobb_angle_remeasured_from_written_points(curve_docs: list[dict]) -> None:
    """The ground truth is what measure_spine (the function that measures predicted curves) reads off the points."""
    for doc in curve_docs:
        points = np.asarray(doc["points"])
        assert points.shape[1] == 2 and np.all(np.diff(points[:, 1]) > 0), "C7 first, going down"
        measured = measure_spine(points, doc["pixel_spacing_mm"]).to_dict()
        for key in ("cobb_angles_deg", "major_cobb_deg", "curves", "curve_type", "severity", "max_deviation_mm"):
            assert doc[key] == measured[key], key
        assert doc["severity"] == severity_class(doc["major_cobb_deg"])
        n_structural = sum(c >= 10 for c in doc["cobb_angles_deg"])
        assert doc["curve_type"] == {0: "none", 1: "C"}.get(n_structural, "S")
        assert list(doc["vertebrae"])[0] == "C7" and list(doc["vertebrae"])[-1] == "L5"
        assert doc["generator"]["seed"] == SEED and doc["generator"]["version"] == GENERATOR_VERSION == "1.3"


def test_label_is_the_band_along_the_written_curve(phantom_dir: Path, datalist: dict) -> None:
    entry = datalist["training"][0]
    doc = json.loads((phantom_dir / entry["curve"]).read_text())
    label = np.asarray(Image.open(phantom_dir / entry["label"]))
    band = curve_to_band(doc["points"], (doc["image_size"]["width"], doc["image_size"]["height"]), 5.0)
    np.testing.assert_array_equal(label, band.T)


def test_same_seed_identical_files_any_worker_count(tmp_path: Path) -> None:
    generate_dataset(tmp_path / "a", 4, seed=3, height=96, width=48, workers=1)
    generate_dataset(tmp_path / "b", 4, seed=3, height=96, width=48, workers=2)
    generate_dataset(tmp_path / "c", 4, seed=4, height=96, width=48, workers=1, preview=False)
    files = _files(tmp_path / "a")
    assert files == _files(tmp_path / "b")
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", files, shallow=False)
    assert not mismatch and not errors
    assert not filecmp.cmp(tmp_path / "a/images/case_0000.png", tmp_path / "c/images/case_0000.png", shallow=False)


def test_sample_is_independent_of_dataset_size() -> None:
    a, b = generate_sample(2, seed=5, height=96, width=48), generate_sample(2, seed=5, height=96, width=48)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.depth, b.depth)
    assert a.curve == b.curve


def test_other_sizes(tmp_path: Path) -> None:
    sample = generate_sample(0, seed=1, height=240, width=120)
    assert sample.image.shape == (240, 120, 3) and sample.depth.shape == (240, 120) and sample.label.shape == (240, 120)
    with pytest.raises(ValueError, match="at least"):
        generate_sample(0, height=20, width=10)
    with pytest.raises(ValueError, match="at least 1"):
        generate_dataset(tmp_path, 0)


def test_command_line(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "monai_gamanet.data.synthetic", "--out", str(out), "--n", "3", "--seed", "1"]
    result = subprocess.run(cmd + ["--height", "96", "--width", "48"], capture_output=True, text=True, check=True)
    assert "samples/s" in result.stderr
    assert len(json.loads((out / "datalist.json").read_text())["training"]) == 1
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = subprocess.run(cmd[:-4] + ["--n", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "at least 1" in bad.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before, "a refused run changed the dataset"


def test_another_capture_is_the_same_back_under_other_light_stance_and_distance() -> None:
    first = generate_sample(4, seed=5, height=96, width=48)
    again, other = (
        generate_sample(4, seed=5, height=96, width=48, capture=1),
        generate_sample(4, seed=5, height=96, width=48, capture=2),
    )
    g0, g1, g2 = (s.curve["generator"] for s in (first, again, other))
    assert g1["capture"] == 1 and g0["capture"] == 0
    # the same subject and skin: curve, anatomy and skin tone; another light, stance and camera
    assert (
        g1["parameters"]["curves"] == g0["parameters"]["curves"]
        and g1["photo"]["skin_tone_index"] == g0["photo"]["skin_tone_index"]
    )
    assert g1["photo"]["light_azimuth_deg"] != g0["photo"]["light_azimuth_deg"] != g2["photo"]["light_azimuth_deg"]
    assert g1["parameters"]["imbalance_mm"] != g0["parameters"]["imbalance_mm"]
    assert abs(again.curve["major_cobb_deg"] - first.curve["major_cobb_deg"]) < 1.0
    assert not np.array_equal(again.image, first.image) and not np.array_equal(again.depth, first.depth)
    # reproducible, and capture 0 is the sample itself
    np.testing.assert_array_equal(generate_sample(4, seed=5, height=96, width=48, capture=1).image, again.image)
    np.testing.assert_array_equal(generate_sample(4, seed=5, height=96, width=48, capture=0).image, first.image)
    with pytest.raises(ValueError, match="capture"):
        generate_sample(4, seed=5, capture=-1)


def test_a_later_visit_with_added_curvature_and_regeneration_from_its_curve_file() -> None:
    earlier = generate_sample(6, seed=5)
    later = generate_sample(6, seed=5, capture=3, added_cobb_deg=10.0)
    assert later.curve["generator"]["added_cobb_deg"] == 10.0
    assert 7.0 < later.curve["major_cobb_deg"] - earlier.curve["major_cobb_deg"] < 13.0
    again = regenerate(json.loads(json.dumps(later.curve)))
    np.testing.assert_array_equal(again.image, later.image)
    np.testing.assert_array_equal(again.surface, later.surface)
    assert again.curve == later.curve
