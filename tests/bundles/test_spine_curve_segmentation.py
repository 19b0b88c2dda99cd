"""The spine_curve_segmentation bundle (work in progress: training) through MONAI's bundle entry point, tiny."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser, ckpt_export, verify_net_in_out
from monai.transforms import Flipd
from PIL import Image

from monai_gamanet.metrics.curve import CURVE_METRICS
from monai_gamanet.metrics.morphology import measure_curve_mask

BUNDLE = Path(__file__).resolve().parents[2] / "bundles" / "spine_curve_segmentation"
CONFIGS = BUNDLE / "configs"
TRAIN = str(CONFIGS / "train.yaml")
TINY = ["--phantom_samples", "10", "--spatial_size", "[32, 64]", "--batch_size", "4", "--num_workers", "0"]


def _cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "monai.bundle", "run", "--config_file", TRAIN, *args]
    cmd += ["--logging_file", str(CONFIGS / "logging.conf")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_rgb_input_trains_without_a_depth_model_and_evaluates(tmp_path: Path) -> None:
    schedule = ["--lr_schedule", "warmup_cosine", "--learning_rate", "0.001"]  # the Table 4 recipe (constant: app)
    result = _cli("--bundle_root", str(tmp_path), "--inputs", "rgb", "--epochs", "2", *schedule, *TINY)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "val_dice" in result.stdout and "photo(s) computed" not in result.stdout + result.stderr
    assert (tmp_path / "models" / "model.pt").is_file() and (tmp_path / "models" / "last.pt").is_file()
    last = torch.load(tmp_path / "models" / "last.pt", map_location="cpu", weights_only=True)
    assert last["lr_scheduler"]["last_epoch"] > 0  # the schedule's place is saved: a resumed run continues it
    assert not (tmp_path / "dataset" / "depth_cache").exists()
    overlay = str([TRAIN, str(CONFIGS / "evaluate.yaml")])
    cmd = [sys.executable, "-m", "monai.bundle", "run", "--config_file", overlay, "--bundle_root", str(tmp_path)]
    cmd += ["--inputs", "rgb", *TINY, "--logging_file", str(CONFIGS / "logging.conf")]
    evaluated = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert evaluated.returncode == 0, evaluated.stdout[-3000:] + evaluated.stderr[-3000:]
    saved = json.loads((tmp_path / "eval" / "metrics.json").read_text())  # strict JSON: no NaN
    assert set(saved["metrics"]) == {
        *CURVE_METRICS,
        "cobb_mae",
        "cobb_r",
        "severity_accuracy",
        "curve_type_accuracy",
        "no_curve_found",
        "line_agreement",
    }
    assert all(0 <= saved["metrics"][m] <= 1 for m in CURVE_METRICS)
    (row,) = saved["per_image"]  # one test photo in a 10-sample phantom
    assert row["image"].endswith(".png") and "true_major_cobb_deg" in row and "dice" in row
    assert ("major_cobb_deg" in row) != ("no_curve_found" in row)  # measured, or said plainly that it was not
    assert (
        "| Input | IoU | Accuracy | Dice | Sensitivity | Specificity | Cobb MAE (deg) |"
        in (tmp_path / "eval" / "metrics.md").read_text()
    )
    assert (tmp_path / "eval" / "samples.png").is_file() and (tmp_path / "eval" / "dice_raw.csv").is_file()


def test_rgbd_caches_the_estimated_depth_once(tmp_path: Path, random_depth_bundle: Path) -> None:
    args = ["--inputs", "rgbd", "--epochs", "1", "--depth_bundle_root", str(random_depth_bundle), *TINY]
    args += ["--depth_overrides", "{'spatial_size': [24, 48]}"]
    first = _cli("--bundle_root", str(tmp_path), *args)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    log = first.stdout + first.stderr
    assert "estimated depth: 1 photo(s) computed" in log and "val_dice" in log
    (cache,) = (tmp_path / "dataset" / "depth_cache").iterdir()
    splits = json.loads((tmp_path / "dataset" / "datalist.json").read_text())
    used = len(splits["training"]) + len(splits["validation"])  # the test photos wait for the evaluation
    assert cache.name.startswith("estimated_") and len(list(cache.glob("*_depth.png"))) == used
    again = _cli("--bundle_root", str(tmp_path), *args, "--resume", "false")
    assert again.returncode == 0 and "photo(s) computed" not in again.stdout + again.stderr  # all 10 cached
    state = torch.load(tmp_path / "models" / "model.pt", weights_only=True)
    first_conv = next(v for k, v in state.items() if v.ndim == 4)
    assert first_conv.shape[1] == 4  # R, G, B, D
    # MONAI's own bundle tools on it: input/output check against metadata.json, TorchScript export
    meta, small = str(CONFIGS / "metadata.json"), {"spatial_size": [32, 64], "bundle_root": str(tmp_path)}
    verify_net_in_out(net_id="network_def", meta_file=meta, config_file=TRAIN, device="cpu", **small)
    ts_path = tmp_path / "models" / "model.ts"
    ckpt_export(
        net_id="network_def", filepath=str(ts_path), ckpt_file=str(tmp_path / "models" / "model.pt"),
        meta_file=meta, config_file=TRAIN, **small,
    )  # fmt: skip
    exported = torch.jit.load(str(ts_path))
    assert exported(torch.rand(1, 4, 32, 64)).shape == (1, 2, 32, 64)
    # the bundle's inference.yaml on the photos: the depth estimated in passing, a label, report and curve per photo
    photos = sorted((tmp_path / "dataset" / "images").glob("*.png"))[:3]
    folder = tmp_path / "to_infer"
    folder.mkdir()
    for photo in photos:
        (folder / photo.name).write_bytes(photo.read_bytes())
    cmd = [sys.executable, "-m", "monai.bundle", "run", "--config_file", str(CONFIGS / "inference.yaml")]
    cmd += ["--bundle_root", str(tmp_path), "--input", str(folder), "--output_dir", str(tmp_path / "pred")]
    cmd += ["--spatial_size", "[32, 64]", "--depth_bundle_root", str(random_depth_bundle)]
    cmd += ["--depth_overrides", "{'spatial_size': [24, 48]}", "--logging_file", str(CONFIGS / "logging.conf")]
    inferred = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert inferred.returncode == 0, inferred.stdout[-3000:] + inferred.stderr[-3000:]
    for photo in photos:
        label = np.asarray(Image.open(tmp_path / "pred" / f"{photo.stem}_curve.png"))
        assert label.shape == np.asarray(Image.open(photo)).shape[:2] and set(np.unique(label)) <= {0, 1}
        report = json.loads((tmp_path / "pred" / f"{photo.stem}_report.json").read_text())
        assert report["image"] == str(folder / photo.name) and "curve_found" in report
        assert (tmp_path / "pred" / f"{photo.stem}_curve.mrk.json").is_file() == report["curve_found"]
    (depth_folder,) = (tmp_path / "pred" / "depth").iterdir()
    assert len(list(depth_folder.glob("*_depth.png"))) == len(photos)


def test_depth_only_from_ground_truth_is_explicit_and_one_channel(tmp_path: Path) -> None:
    result = _cli(
        "--bundle_root", str(tmp_path), "--inputs", "depth", "--depth_source", "ground_truth", "--epochs", "1", *TINY
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (cache,) = (tmp_path / "dataset" / "depth_cache").iterdir()
    assert cache.name.startswith("ground_truth_")
    state = torch.load(tmp_path / "models" / "model.pt", weights_only=True)
    assert next(v for k, v in state.items() if v.ndim == 4).shape[1] == 1


def test_size_the_unet_cannot_take_is_a_clear_error(tmp_path: Path) -> None:
    result = _cli(
        "--bundle_root", str(tmp_path), "--inputs", "rgb", "--epochs", "1", *TINY, "--spatial_size", "[30, 64]"
    )
    assert result.returncode != 0
    assert "spatial_size (the U-Net downsamples 4 times) must be positive multiples of 16" in result.stderr


def test_horizontal_flip_mirrors_image_and_label_and_the_report_follows(phantom_dir: Path) -> None:
    parser = ConfigParser()
    parser.read_config(TRAIN)
    parser.update({"bundle_root": str(phantom_dir.parent), "dataset_dir": str(phantom_dir), "inputs": "rgb"})
    preprocessing = parser.get_parsed_content("preprocessing")
    flips = parser.get_parsed_content("augmentation")
    assert flips[0].keys == ("image", "label") and flips[1].keys == ("image", "label")  # one draw, both keys
    for item in parser.get_parsed_content("datalist")["training"]:
        sample = preprocessing(item)
        report = measure_curve_mask(sample["label"].numpy(), 1.0)
        if report.curve_type == "C":
            break
    assert report.curves, "the phantom should hold a curved back"
    flipped = Flipd(keys=["image", "label"], spatial_axis=0)(sample)
    np.testing.assert_array_equal(flipped["label"].numpy(), sample["label"].numpy()[:, ::-1])
    np.testing.assert_array_equal(flipped["image"].numpy(), sample["image"].numpy()[:, ::-1])
    mirrored = measure_curve_mask(flipped["label"].numpy(), 1.0)
    side = {"left": "right", "right": "left"}
    assert [c["convex"] for c in mirrored.curves] == [side[c["convex"]] for c in report.curves]
    assert mirrored.major_cobb_deg == pytest.approx(report.major_cobb_deg, abs=0.5)


def test_multi_gpu_config_under_torchrun_on_cpu(tmp_path: Path) -> None:
    """multi_gpu_train.yaml with 2 gloo processes on the CPU (RGB input: no depth model needed)."""
    import os

    from monai_gamanet.data.synthetic import generate_dataset

    data = tmp_path / "data"
    generate_dataset(data, 20, seed=2, height=128, width=64, preview=False)  # 16 / 2 / 2: a sample per rank
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "monai.bundle"]
    cmd += ["run", "--config_file", f"['{TRAIN}','{CONFIGS / 'multi_gpu_train.yaml'}']", "--bundle_root", str(tmp_path)]
    cmd += ["--dataset_dir", str(data), "--inputs", "rgb", "--epochs", "1", "--spatial_size", "[64, 128]"]
    cmd += ["--batch_size", "2", "--num_workers", "0", "--logging_file", str(CONFIGS / "logging.conf")]
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "models" / "last.pt").is_file()
    assert result.stdout.count("Epoch: 1/1, Iter: 4/4") == 1 and "val_dice" in result.stdout  # rank 0 logs
