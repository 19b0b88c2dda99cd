"""The curve bundle's output transform: per photo the 0/1 label at the photo's size, the report and the Slicer
curve, measured by the chain's own describe_curve (the depth for the rotation read from the cached D channel)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import Resize
from PIL import Image

from monai_gamanet.inference.chain import describe_curve
from monai_gamanet.inference.depth_cache import DEPTH_KEY, DEPTH_STEPS, depth_steps, write_depth_png
from monai_gamanet.inference.writers import SaveCurveResultd

SIZE = (96, 192)  # the phantom photo's (W, H)


def _sample(phantom: Path, case: str, working: tuple[int, int]) -> dict:
    """The photo as the bundle's preprocessing leaves it (its name and own size in the meta) and logits (2, W, H) at
    the network's working size that select the phantom's curve band."""
    photo = MetaTensor(torch.zeros(3, *working), meta={"filename_or_obj": str(phantom / "images" / f"{case}.png")})
    photo.meta["spatial_shape"] = np.asarray(SIZE)
    label = np.asarray(Image.open(phantom / "labels" / f"{case}.png")).T.astype(np.float32)
    band = Resize(working, mode="nearest")(torch.from_numpy(label)[None])[0]
    return {"image": photo, "pred": torch.stack([-(10 * band - 5), 10 * band - 5])}


def _probability(logits: torch.Tensor) -> np.ndarray:
    return np.asarray(Resize(SIZE, mode="bilinear")(torch.softmax(logits, 0)[1:])[0])


def test_label_report_and_curve_at_the_photos_size(small_phantom_dir: Path, tmp_path: Path) -> None:
    sample = _sample(small_phantom_dir, "case_0000", (48, 96))
    out = tmp_path / "pred"
    d = SaveCurveResultd(output_dir=out, spacing=1.5, depth_range_mm=80.0)(sample)
    assert d["pred"] is sample["pred"]
    assert sorted(p.name for p in out.iterdir()) == [
        "case_0000_curve.mrk.json",
        "case_0000_curve.png",
        "case_0000_report.json",
    ]
    label = np.asarray(Image.open(out / "case_0000_curve.png"))
    assert label.shape == (192, 96) and set(np.unique(label)) == {0, 1}  # display order, at the photo's size
    report = json.loads((out / "case_0000_report.json").read_text())
    expected, flat, _, expected_label = describe_curve(
        _probability(sample["pred"]), np.zeros(SIZE, np.float32), "case_0000", 1.5, 80.0
    )
    assert report == json.loads(json.dumps({"image": sample["image"].meta["filename_or_obj"], **expected}))
    assert report["curve_found"] and report["surface_rotation_rms_deg"] is None  # no D channel: nothing measured
    np.testing.assert_array_equal(label, expected_label.T)
    written = json.loads((out / "case_0000_curve.mrk.json").read_text())
    assert written["markups"] == json.loads(json.dumps(flat["markups"]))  # the curve on the photo


def test_the_rotation_uses_the_cached_depth_channel(small_phantom_dir: Path, tmp_path: Path) -> None:
    sample = _sample(small_phantom_dir, "case_0001", SIZE)
    depth = np.tile(np.linspace(0.0, 1.0, SIZE[0])[:, None], (1, SIZE[1]))  # tilted towards the right
    write_depth_png(tmp_path / "case_0001_depth.png", depth)
    sample[DEPTH_KEY] = MetaTensor(
        torch.zeros(1, *SIZE), meta={"filename_or_obj": str(tmp_path / "case_0001_depth.png")}
    )
    SaveCurveResultd(output_dir=tmp_path / "pred", decoding="mask")(sample)
    report = json.loads((tmp_path / "pred" / "case_0001_report.json").read_text())
    from_png = depth_steps(depth).astype(np.float32) / DEPTH_STEPS
    expected = describe_curve(_probability(sample["pred"]), from_png, "case_0001", decoding="mask")[0]
    assert report["surface_rotation_deg"] == json.loads(json.dumps(expected["surface_rotation_deg"]))
    assert report["surface_rotation_rms_deg"] > 1.0  # the tilted back is seen


def test_no_curve_found_writes_the_reason_and_an_empty_label(small_phantom_dir: Path, tmp_path: Path) -> None:
    sample = _sample(small_phantom_dir, "case_0002", (48, 96))
    sample["pred"] = torch.stack([torch.full((48, 96), 5.0), torch.full((48, 96), -5.0)])  # background everywhere
    SaveCurveResultd(output_dir=tmp_path)(sample)
    report = json.loads((tmp_path / "case_0002_report.json").read_text())
    assert report["curve_found"] is False and report["reason"] and report["image"].endswith("case_0002.png")
    assert not np.asarray(Image.open(tmp_path / "case_0002_curve.png")).any()
    assert not (tmp_path / "case_0002_curve.mrk.json").exists()
