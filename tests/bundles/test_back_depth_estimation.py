"""The back_depth_estimation bundle through MONAI's own bundle entry points, on a tiny phantom at 96 x 48."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.bundle import ckpt_export, verify_net_in_out
from monai.bundle import run as bundle_run
from PIL import Image

from monai_gamanet.data.synthetic import generate_dataset
from monai_gamanet.networks import create_depth_network

BUNDLE = Path(__file__).resolve().parents[2] / "bundles" / "back_depth_estimation"
CONFIGS = BUNDLE / "configs"
TRAIN, EVALUATE, INFERENCE = (str(CONFIGS / f"{n}.yaml") for n in ("train", "evaluate", "inference"))
SMALL = {"spatial_size": [48, 96], "batch_size": 4, "num_workers": 0}


def _chain(err: BaseException) -> str:
    """All messages of an exception and its causes (MONAI's config runner wraps the original error)."""
    parts = []
    while err is not None:
        parts.append(str(err))
        err = err.__cause__ or err.__context__
    return " | ".join(parts)


def _cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "monai.bundle", "run", *args, "--logging_file", str(CONFIGS / "logging.conf")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle folder trained for 2 epochs; its phantom is generated because the dataset folder is missing."""
    root = tmp_path_factory.mktemp("bundle")
    result = _cli(
        "--config_file", TRAIN, "--bundle_root", str(root), "--phantom_samples", "10", "--epochs", "2",
        "--spatial_size", "[48, 96]", "--batch_size", "4", "--num_workers", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "val_delta1" in result.stdout
    return root


def test_train_writes_best_and_last_checkpoints(trained: Path) -> None:
    assert (trained / "dataset" / "datalist.json").is_file()
    assert (trained / "models" / "model.pt").is_file() and (trained / "models" / "last.pt").is_file()
    assert list((trained / "eval").glob("events.out.tfevents.*")), "TensorBoard logs"
    state = torch.load(trained / "models" / "last.pt", weights_only=True)
    trainer = state["trainer"]  # ignite keeps the iteration; the epoch follows from the epoch length
    assert trainer["iteration"] == 2 * trainer["epoch_length"] and {"network", "optimizer"} <= set(state)


def test_resume_continues_from_the_last_epoch(trained: Path) -> None:
    result = _cli(
        "--config_file", TRAIN, "--bundle_root", str(trained), "--epochs", "3",
        "--spatial_size", "[48, 96]", "--batch_size", "4", "--num_workers", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert "resumed from" in result.stdout and "at epoch 2 of 3" in result.stdout
    assert "Epoch: 1/3" not in result.stdout and "Epoch: 3/3" in result.stdout
    trainer = torch.load(trained / "models" / "last.pt", weights_only=True)["trainer"]
    assert trainer["iteration"] == 3 * trainer["epoch_length"]


def test_evaluate_writes_metrics_and_pictures(trained: Path) -> None:
    bundle_run(config_file=[TRAIN, EVALUATE], bundle_root=str(trained), **SMALL)
    report = json.loads((trained / "eval" / "metrics.json").read_text())
    six = ["abs_rel", "rmse", "sq_rel", "delta1", "delta2", "delta3"]
    assert report["n_images"] == 1 and list(report["metrics"]) == six
    assert list(report["metrics_aligned"]) == [f"aligned_{m}" for m in six]
    assert all(np.isfinite(v) for v in [*report["metrics"].values(), *report["metrics_aligned"].values()])
    assert 0 <= report["metrics"]["delta1"] <= report["metrics"]["delta2"] <= report["metrics"]["delta3"] <= 1
    # per-image values (from MONAI's metric handlers), named by photo, and MONAI's MetricsSaver files beside them
    (row,) = report["per_image"]
    assert row["image"].endswith(".png") and row["delta1"] == pytest.approx(report["metrics"]["delta1"])
    raw_csv = (trained / "eval" / "aligned_delta1_raw.csv").read_text().splitlines()
    assert Path(row["image"]).name in raw_csv[1] and (trained / "eval" / "metrics.csv").is_file()
    assert "| Abs Rel | RMSE |" in (trained / "eval" / "metrics.md").read_text()
    assert "δ<1.25 (aligned)" in (trained / "eval" / "metrics.md").read_text()
    assert Image.open(trained / "eval" / "samples.png").size[0] > 4 * 48


def test_inference_writes_depth_at_the_photo_size(trained: Path, tmp_path: Path) -> None:
    photos = trained / "dataset" / "images"
    out = tmp_path / "pred"
    bundle_run(
        config_file=INFERENCE, bundle_root=str(trained), input=str(photos), output_dir=str(out), spatial_size=[48, 96]
    )
    names = sorted(p.stem for p in photos.glob("*.png"))
    assert len(names) == 10
    for name in names[:2]:
        photo = np.asarray(Image.open(photos / f"{name}.png"))
        png = np.asarray(Image.open(out / f"{name}_depth.png"))
        assert png.dtype == np.uint16 and png.shape == photo.shape[:2]
        nifti = np.squeeze(np.asarray(nib.load(out / f"{name}_depth.nii.gz").dataobj))
        np.testing.assert_allclose(nifti.T, png / 65535.0, atol=1.0 / 65535)  # same pixel, same place
        assert 0.0 <= nifti.min() and nifti.max() <= 1.0
        assert Image.open(out / f"{name}_depth_preview.png").mode == "RGB"


def test_export_and_verify(trained: Path) -> None:
    overrides = {"bundle_root": str(trained), "spatial_size": [48, 96]}
    meta, config = str(CONFIGS / "metadata.json"), INFERENCE
    verify_net_in_out(net_id="network_def", meta_file=meta, config_file=config, device="cpu", **overrides)
    ts_path = trained / "models" / "model.ts"
    ckpt_export(
        net_id="network_def", filepath=str(ts_path), ckpt_file=str(trained / "models" / "model.pt"),
        meta_file=meta, config_file=config, **overrides,
    )  # fmt: skip
    exported = torch.jit.load(str(ts_path))
    net = create_depth_network("gamanet", output_activation="sigmoid").eval()  # as inference.yaml builds it
    state = torch.load(trained / "models" / "model.pt", weights_only=True)
    net.load_state_dict(state.get("model", state))
    x = torch.rand(1, 3, 48, 96)
    with torch.inference_mode():
        torch.testing.assert_close(exported(x), net(x), atol=1e-4, rtol=0)


def test_multi_gpu_config_under_torchrun_on_cpu(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate_dataset(data, 20, seed=2, height=96, width=48, preview=False)  # 16 / 2 / 2: a sample per rank
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",  # a free port of its own: a fixed one may still be held by an earlier run
        "--nproc_per_node=2",
        "-m",
        "monai.bundle",
    ]
    cmd += ["run", "--config_file", f"['{TRAIN}','{CONFIGS / 'multi_gpu_train.yaml'}']", "--bundle_root", str(tmp_path)]
    cmd += ["--dataset_dir", str(data), "--epochs", "1", "--spatial_size", "[48, 96]", "--batch_size", "2"]
    cmd += ["--num_workers", "0", "--logging_file", str(CONFIGS / "logging.conf")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "models" / "last.pt").is_file()
    # 16 training samples over 2 ranks at batch 2: 4 iterations each, logged by rank 0 only
    assert result.stdout.count("Epoch: 1/1, Iter: 4/4") == 1 and "val_delta1" in result.stdout


def test_missing_dataset_folder(tmp_path: Path) -> None:
    with pytest.raises(Exception) as err:
        bundle_run(
            config_file=TRAIN, bundle_root=str(tmp_path), dataset_dir=str(tmp_path / "no_such_dir"), epochs=1, **SMALL
        )
    assert "dataset folder not found" in _chain(err.value) and "no_such_dir" in _chain(err.value)
    assert not (tmp_path / "no_such_dir").exists(), "a mistyped path must not be filled with phantoms"


def test_datalist_with_missing_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate_dataset(data, 4, seed=1, height=96, width=48, preview=False)
    (data / "depth" / "case_0002.png").unlink()
    with pytest.raises(Exception) as err:
        bundle_run(config_file=TRAIN, bundle_root=str(tmp_path), dataset_dir=str(data), epochs=1, **SMALL)
    assert "missing file" in _chain(err.value) and "case_0002.png" in _chain(err.value)


def test_photo_of_unsupported_size(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate_dataset(data, 4, seed=1, height=96, width=48, preview=False)
    for folder in ("images", "depth"):
        for path in (data / folder).glob("*.png"):
            img = Image.open(path)
            img.resize((96, 48), Image.Resampling.NEAREST).save(path)  # landscape: a rotated or wrong photo
    with pytest.raises(Exception) as err:
        bundle_run(config_file=TRAIN, bundle_root=str(tmp_path), dataset_dir=str(data), epochs=1, **SMALL)
    assert "resizing would distort" in _chain(err.value)
    assert not (tmp_path / "models" / "model.pt").exists()


def test_without_validation_the_final_network_is_saved_and_empty_test_split_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate_dataset(data, 2, seed=1, height=96, width=48, preview=False)  # split 2 / 0 / 0
    bundle_run(config_file=TRAIN, bundle_root=str(tmp_path), dataset_dir=str(data), epochs=1, **SMALL)
    assert (tmp_path / "models" / "model.pt").is_file()
    with pytest.raises(Exception) as err:
        bundle_run(config_file=[TRAIN, EVALUATE], bundle_root=str(tmp_path), dataset_dir=str(data), **SMALL)
    assert "test split of the datalist is empty" in _chain(err.value)


def test_a_new_network_in_the_same_folder_starts_afresh(trained: Path) -> None:
    """Resume only on purpose: last.pt of another network (or data) is not silently continued."""
    result = _cli(
        "--config_file", TRAIN, "--bundle_root", str(trained), "--epochs", "1", "--network_name", "gamanet_amff",
        "--spatial_size", "[48, 96]", "--batch_size", "4", "--num_workers", "0", "--mixed_precision", "fp32",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "not resuming from" in result.stdout and "another network, other data" in result.stdout
    assert "Epoch: 1/1" in result.stdout and "resumed from" not in result.stdout
