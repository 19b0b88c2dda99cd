"""The photo-to-report pipeline: depth, curve, report, overlay and Slicer curves per photo; bad files reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser
from monai.inferers import SimpleInferer
from PIL import Image

from monai_gamanet.depth_cache import load_depth_model
from monai_gamanet.pipeline import main, run_photo

ROOT = Path(__file__).resolve().parents[1]
CURVE_TRAIN = ROOT / "bundles" / "spine_curve_segmentation" / "configs" / "train.yaml"
DEPTH_SMALL = {"spatial_size": [24, 48]}


class GroundTruthCurve(torch.nn.Module):
    """Stands in for a perfect curve U-Net: logits that select the photo's ground-truth band."""

    def __init__(self, label: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("label", label.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        curve = 10.0 * self.label[None, None] - 5.0  # (1, 1, W, H)
        return torch.cat([-curve, curve], dim=1).expand(x.shape[0], -1, -1, -1)


@pytest.mark.parametrize("decoding", ["probability", "mask"])
def test_one_photo_gives_report_overlay_depth_and_two_slicer_curves(
    tmp_path: Path, phantom_dir: Path, datalist: dict, random_depth_bundle: Path, decoding: str
) -> None:
    entries = [e for split in datalist.values() for e in split]
    docs = [json.loads((phantom_dir / e["curve"]).read_text()) for e in entries]
    entry, doc = next((e, d) for e, d in zip(entries, docs, strict=True) if d["curve_type"] != "none")  # a curved back
    parser = ConfigParser()
    parser.read_config(str(CURVE_TRAIN))
    parser.update({"bundle_root": str(tmp_path), "inputs": "rgbd"})
    label = torch.from_numpy(np.asarray(Image.open(phantom_dir / entry["label"])).T.copy())
    curve_model = {
        "network": GroundTruthCurve(label),
        "preprocessing": parser.get_parsed_content("preprocessing"),
        "inferer": SimpleInferer(),
        "inputs": "rgbd",
        "device": torch.device("cpu"),
        "decoding": decoding,
    }
    depth_model = load_depth_model(random_depth_bundle, DEPTH_SMALL, "cpu")
    spacing = doc["pixel_spacing_mm"]
    report = run_photo(phantom_dir / entry["image"], tmp_path, depth_model, curve_model, spacing, 90.0)
    name = Path(entry["image"]).stem
    assert json.loads((tmp_path / f"{name}_report.json").read_text()) == report
    assert report["curve_found"] and report["curve_type"] == doc["curve_type"]
    assert report["major_cobb_deg"] == pytest.approx(doc["major_cobb_deg"], abs=1.5)  # the ground truth's band
    assert set(report["surface_rotation_deg"]) <= set(labels := doc["vertebrae"]) and len(labels) == 18
    assert report["surface_rotation_rms_deg"] >= 0 and report["surface_rotation_max_level"] in labels
    photo = np.asarray(Image.open(phantom_dir / entry["image"]))
    assert np.asarray(Image.open(report["overlay"])).shape == photo.shape
    assert np.asarray(Image.open(report["depth"])).dtype == np.uint16
    flat, lifted = (json.loads(Path(p).read_text())["markups"][0] for p in report["markups"])
    assert report["markups"][0].endswith(f"{name}_curve.mrk.json") and flat["type"] == "Curve"
    labels = [p["label"] for p in flat["controlPoints"]]
    assert labels[0] == "C7" and labels[-1] == "L5"
    first = np.array(flat["controlPoints"][0]["position"])
    assert first[2] == 0 and first[1] == pytest.approx(report["points"][0][1] * spacing, abs=0.01)
    z = [p["position"][2] for p in lifted["controlPoints"]]
    assert all(0 <= v <= 90.0 for v in z) and max(z) > 0  # on the back's surface, within its depth range
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


class PointwiseCurve(torch.nn.Module):
    """A 1x1 convolution: commutes with every flip, so its flipped-back predictions agree exactly."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(channels, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 20 * self.conv(x)


def test_flip_uncertainty_is_zero_for_a_consistent_network_and_high_for_one_that_ignores_the_photo(
    tmp_path: Path, phantom_dir: Path, datalist: dict
) -> None:
    from monai_gamanet.pipeline import FLIPS, curve_uncertainty, flip_probabilities

    entry = datalist["test"][0]
    parser = ConfigParser()
    parser.read_config(str(CURVE_TRAIN))
    parser.update({"bundle_root": str(tmp_path), "inputs": "rgb", "spatial_size": [64, 128]})
    model = {"preprocessing": parser.get_parsed_content("preprocessing"), "inferer": SimpleInferer()}
    model |= {"inputs": "rgb", "device": torch.device("cpu"), "decoding": "probability"}
    photo = phantom_dir / entry["image"]
    consistent = flip_probabilities(photo, None, {**model, "network": PointwiseCurve(3)})
    assert consistent.shape == (len(FLIPS), 64, 128)
    assert curve_uncertainty(consistent) == pytest.approx(0.0, abs=1e-5)
    band = torch.zeros(64, 128)
    band[20:24, :] = 1.0  # a straight band off the middle: mirrored, it lands elsewhere
    blind = flip_probabilities(photo, None, {**model, "network": GroundTruthCurve(band)})
    assert curve_uncertainty(blind) > 0.1  # two places, each seen by two of the four flips
    assert curve_uncertainty(np.zeros((4, 64, 128))) == 0.0  # no curve anywhere: nothing to disagree on
