"""The photo-to-report pipeline: depth, curve, report, overlay and Slicer curves per photo; bad files reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from monai_gamanet.cli.pipeline import main, run_photo
from monai_gamanet.inference.chain import SpineChain
from monai_gamanet.inference.depth import DepthPredictor
from tests.schemas import validate_markups
from tests.stand_ins import GroundTruthCurve, curve_predictor

DEPTH_SMALL = {"spatial_size": [24, 48]}


@pytest.mark.parametrize("decoding", ["probability", "mask"])
def test_one_photo_gives_report_overlay_depth_and_two_slicer_curves(
    tmp_path: Path, phantom_dir: Path, datalist: dict, random_depth_bundle: Path, decoding: str
) -> None:
    entries = [e for split in datalist.values() for e in split]
    docs = [json.loads((phantom_dir / e["curve"]).read_text()) for e in entries]
    entry, doc = next((e, d) for e, d in zip(entries, docs, strict=True) if d["curve_type"] != "none")  # a curved back
    label = torch.from_numpy(np.asarray(Image.open(phantom_dir / entry["label"])).T.copy())
    curve = curve_predictor(GroundTruthCurve(label), tmp_path, "rgbd", decoding)
    chain = SpineChain(DepthPredictor.from_bundle(random_depth_bundle, DEPTH_SMALL, "cpu"), curve)
    spacing = doc["pixel_spacing_mm"]
    report = run_photo(phantom_dir / entry["image"], tmp_path, chain, spacing, 90.0)
    name = Path(entry["image"]).stem
    assert json.loads((tmp_path / f"{name}_report.json").read_text()) == report
    assert report["curve_found"] and report["curve_type"] == doc["curve_type"]
    assert report["major_cobb_deg"] == pytest.approx(doc["major_cobb_deg"], abs=1.5)  # the ground truth's band
    assert set(report["surface_rotation_deg"]) <= set(labels := doc["vertebrae"]) and len(labels) == 18
    assert report["surface_rotation_rms_deg"] >= 0 and report["surface_rotation_max_level"] in labels
    photo = np.asarray(Image.open(phantom_dir / entry["image"]))
    assert np.asarray(Image.open(report["overlay"])).shape == photo.shape
    assert np.asarray(Image.open(report["depth"])).dtype == np.uint16
    flat, lifted = (validate_markups(p)["markups"][0] for p in report["markups"])  # Slicer's schema v1.0.3
    assert report["markups"][0].endswith(f"{name}_curve.mrk.json") and flat["type"] == "Curve"
    labels = [p["label"] for p in flat["controlPoints"]]
    assert labels[0] == "C7" and labels[-1] == "L5"
    first = np.array(flat["controlPoints"][0]["position"])
    # in the photo's pixels, where Slicer places a PNG (spacing 1 whatever the photo's true mm per pixel)
    assert first[2] == 0 and first[1] == pytest.approx(report["points"][0][1], abs=0.01)
    z = [p["position"][2] for p in lifted["controlPoints"]]
    assert all(0 <= v <= 90.0 / spacing for v in z) and max(z) > 0  # on the back, its depth range in pixels
    major = next(m for m in flat["measurements"] if m["name"] == "major Cobb angle")
    assert (
        major["value"] == pytest.approx(report["major_cobb_deg"], abs=1e-3)
        and report["severity"] in major["description"]
    )
    assert "major Cobb" in flat["description"]


def test_cli_reports_bad_files_and_goes_on(
    tmp_path: Path, phantom_dir: Path, datalist: dict, random_depth_bundle: Path
):
    from monai.networks.nets import UNet

    curve = tmp_path / "curve_bundle"
    (curve / "models").mkdir(parents=True)
    unet = UNet(2, 4, 2, channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2), num_res_units=2)
    torch.save(unet.state_dict(), curve / "models" / "model.pt")
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG this is not an image")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    out = tmp_path / "out"
    photo = phantom_dir / datalist["test"][0]["image"]
    args = [str(photo), str(bad), str(notes), "--out", str(out), "--depth-bundle", str(random_depth_bundle)]
    args += ["--curve-bundle", str(curve), "--curve-overrides", '{"spatial_size": [32, 64]}']
    args += ["--depth-overrides", json.dumps(DEPTH_SMALL)]
    assert main(args) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failed"] == 2
    errors = {Path(r["image"]).name: r.get("error") for r in summary["photos"]}
    assert "not a readable image" in errors["broken.png"] and "not a photo" in errors["notes.txt"]
    assert errors[photo.name] is None and (out / f"{photo.stem}_report.json").is_file()
    assert not list(out.glob("broken*")) and not list(out.glob("notes*"))  # nothing written for them
    assert not list(out.glob(".*"))  # no temporary file left behind
    with pytest.raises(FileNotFoundError, match="no trained curve model"):
        main(
            [str(photo), "--out", str(out), "--depth-bundle", str(random_depth_bundle), "--curve-bundle", str(tmp_path)]
        )
