"""The photo-to-report pipeline: depth, curve, report, overlay and Slicer curves per photo; bad files reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from monai_gamanet.cli.pipeline import compare_photos, main, run_photo
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
    tmp_path: Path, phantom_dir: Path, datalist: dict, random_depth_bundle: Path, random_curve_bundle: Path
):
    curve = random_curve_bundle
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


class PerPhotoChain:
    """The chain with each photo's own perfect curve model, chosen by the photo's name: two visits of one back
    measured as a perfect curve model would."""

    def __init__(self, chains: dict[str, SpineChain]) -> None:
        self.chains = chains

    def __call__(self, photo, name: str, spacing: float = 1.0, depth_range_mm=None):
        return self.chains[name](photo, name, spacing, depth_range_mm)


def test_two_visits_compared_call_a_known_progression(
    tmp_path: Path, phantom_visits: dict, random_depth_bundle: Path
) -> None:
    depth = DepthPredictor.from_bundle(random_depth_bundle, DEPTH_SMALL, "cpu")
    photos, chains = {}, {}
    for name, key in (("visit_2025", "first"), ("visit_2026", "progressed")):
        sample = phantom_visits[key]
        photos[key] = tmp_path / f"{name}.png"
        Image.fromarray(sample.image).save(photos[key])
        truth = GroundTruthCurve(torch.from_numpy(sample.label.T.copy()))
        chains[name] = SpineChain(depth, curve_predictor(truth, tmp_path, "rgbd"))
    spacing = phantom_visits["first"].curve["pixel_spacing_mm"]
    out = tmp_path / "compare"
    comparison = compare_photos(photos["first"], photos["progressed"], out, PerPhotoChain(chains), spacing, None, 3.0)
    assert json.loads((out / "compare.json").read_text()) == comparison
    truth_change = (
        phantom_visits["progressed"].curve["major_cobb_deg"] - phantom_visits["first"].curve["major_cobb_deg"]
    )
    assert comparison["major"]["change_deg"] == pytest.approx(truth_change, abs=2.0)  # read off the two photos
    assert comparison["verdict"] == "progression >= 5 deg likely" and comparison["sdc_source"] == "--sdc-deg"
    for visit in ("earlier", "later"):  # each photo's own results, apart: the same name at both visits is fine
        assert len(list((out / visit).glob("*_report.json"))) == 1
    earlier, later = (validate_markups(p)["markups"][0] for p in comparison["markups"])  # Slicer's schema
    assert earlier["name"].endswith("(earlier visit)") and later["name"].endswith("(later visit)")
    assert earlier["display"]["color"] != later["display"]["color"]
    first = [np.array(c["controlPoints"][0]["position"]) for c in (earlier, later)]
    np.testing.assert_allclose(first[0], first[1], atol=0.01)  # the earlier line placed on the later photo at C7
    assert np.asarray(Image.open(comparison["overlay"])).shape == phantom_visits["progressed"].image.shape


def test_cli_compare_decides_nothing_without_curves_or_repeatability(
    tmp_path: Path, phantom_visits: dict, random_depth_bundle: Path, random_curve_bundle: Path
) -> None:
    curve = random_curve_bundle
    earlier, later = tmp_path / "earlier.png", tmp_path / "later.png"
    Image.fromarray(phantom_visits["first"].image).save(earlier)
    Image.fromarray(phantom_visits["progressed"].image).save(later)
    bundles = ["--depth-bundle", str(random_depth_bundle), "--depth-overrides", json.dumps(DEPTH_SMALL)]
    bundles += ["--curve-bundle", str(curve), "--curve-overrides", '{"spatial_size": [32, 64]}']
    out = tmp_path / "out"
    assert main(["--compare", str(earlier), str(later), "--out", str(out), *bundles]) == 0
    comparison = json.loads((out / "compare.json").read_text())
    assert comparison["sdc_deg"] is None and "no repeatability record" in comparison["sdc_source"]
    assert comparison["verdict"] is None  # a random model: no curve, or a change without its error; nothing called
    # a photo that is not one: refused before anything is written
    notes = tmp_path / "notes.png"
    notes.write_text("not a photo")
    again = tmp_path / "again"
    assert main(["--compare", str(earlier), str(notes), "--out", str(again), *bundles]) == 1
    assert not list(again.rglob("*.*"))
    for bad in (["--sdc-deg", "-1"], [str(earlier)]):  # a negative error; photos and --compare at once
        with pytest.raises(SystemExit):
            main(["--compare", str(earlier), str(later), "--out", str(again), *bundles, *bad])
