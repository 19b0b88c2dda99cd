"""``make serve`` without a server or training: the studies folder imported once, the briefly trained bundles (or the
repository's trained ones) passed to the app, and the monailabel command it would start."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import pytest

from monai_gamanet.cli import serve
from monai_gamanet.cli.demo import BRIEF_CURVE_LEARNING_RATE
from monai_gamanet.data.synthetic import generate_dataset


def _args(out: Path, **changes: object) -> argparse.Namespace:
    args = {"out": str(out), "photos": 3, "seed": 3, "workers": 1, "epochs": 2, "size": (240, 120)}
    args |= {"curve_epochs": 4, "curve_size": (256, 128)}
    return argparse.Namespace(**(args | changes))


@pytest.fixture
def no_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Bundle runs recorded, each leaving a model in its bundle folder; no trained bundle in the repository; the
    phantom at a tenth of the pixels."""
    runs: list[tuple] = []

    def run_bundle(bundle: str, configs: list[str], overrides: dict) -> None:
        runs.append((bundle, configs, overrides))
        (Path(overrides["bundle_root"]) / "models").mkdir(parents=True)
        (Path(overrides["bundle_root"]) / "models" / "model.pt").write_bytes(b"trained")

    def small(out: Path, n: int, seed: int, workers: int) -> dict:
        return generate_dataset(out, n, seed=seed, workers=workers, height=96, width=48, preview=False)

    monkeypatch.setattr(serve, "run_bundle", run_bundle)
    monkeypatch.setattr(serve, "generate_dataset", small)
    monkeypatch.setattr(serve, "BUNDLES", tmp_path / "repository" / "bundles")
    return runs


def test_prepare_imports_the_studies_and_trains_both_bundles_once(tmp_path: Path, no_training: list[tuple]) -> None:
    out = tmp_path / "serve"
    conf = serve.prepare(_args(out))
    depth, curve = out / "back_depth_estimation", out / "spine_curve_segmentation"
    assert conf == {
        "depth_bundle": str(depth),
        "curve_bundle": str(curve),
        "depth_overrides": '{"spatial_size":[120,240]}',  # --size HEIGHT WIDTH -> MONAI's (W, H)
        "curve_overrides": '{"spatial_size":[128,256]}',
    }
    (depth_run, curve_run) = no_training
    assert depth_run == (
        "back_depth_estimation",
        ["train.yaml"],
        {"bundle_root": depth, "dataset_dir": out / "phantom", "epochs": 2, "spatial_size": [120, 240]},
    )
    assert curve_run[:2] == ("spine_curve_segmentation", ["train.yaml"]) and curve_run[2] == {
        "bundle_root": curve,
        "dataset_dir": out / "phantom",
        "epochs": 4,
        "spatial_size": [128, 256],
        "learning_rate": BRIEF_CURVE_LEARNING_RATE,
        "depth_bundle_root": depth,  # the curve U-Net learns on the depth its own GAMA-Net estimates
        "depth_overrides": {"spatial_size": [120, 240]},
    }
    photos = sorted(p.name for p in (out / "studies").glob("*.png"))
    assert len(photos) == 3 and sorted(p.name for p in (out / "studies" / "labels" / "depth").glob("*.png")) == photos
    assert not (out / "studies" / "labels" / "final").exists()  # no curve labels: what a specialist draws
    stamps = {p: p.stat().st_mtime_ns for p in (out / "studies").rglob("*") if p.is_file()}
    assert serve.prepare(_args(out, photos=10)) == conf and len(no_training) == 2  # reused: nothing trained again
    assert {p: p.stat().st_mtime_ns for p in (out / "studies").rglob("*") if p.is_file()} == stamps


def test_the_repositorys_trained_bundles_are_served_as_they_are(tmp_path: Path, no_training: list[tuple]) -> None:
    for name in ("back_depth_estimation", "spine_curve_segmentation"):
        (serve.BUNDLES / name / "models").mkdir(parents=True)
        (serve.BUNDLES / name / "models" / "model.pt").write_bytes(b"trained")
    conf = serve.prepare(_args(tmp_path / "serve"))
    assert conf == {
        "depth_bundle": str(serve.BUNDLES / "back_depth_estimation"),
        "curve_bundle": str(serve.BUNDLES / "spine_curve_segmentation"),
    }
    assert not no_training and len(list((tmp_path / "serve" / "studies").glob("*.png"))) == 3


def test_main_prints_the_server_command_and_does_not_start_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    conf = {"depth_bundle": "/models/depth", "curve_bundle": "/models/curve", "curve_overrides": '{"inputs":"rgb"}'}
    monkeypatch.setattr(serve, "prepare", lambda args: conf)
    assert serve.main(["--out", str(tmp_path), "--host", "10.8.0.1", "--port", "8123", "--no-start"]) == 0
    printed = capsys.readouterr().out
    assert "MONAI Label server: http://10.8.0.1:8123" in printed
    command = shlex.split(printed.split("command: ")[1].strip())
    app, studies = tmp_path.resolve() / "app", tmp_path.resolve() / "studies"
    assert command == serve.server_command(studies, "10.8.0.1", 8123, conf, app)
    assert command[:4] == [sys.executable, "-m", "monailabel.main", "start_server"]
    assert command[command.index("--app") + 1] == str(app) and (app / "main.py").is_file()  # the app's copy
    conf_pairs = [command[i + 1 : i + 3] for i, a in enumerate(command) if a == "--conf"]
    assert conf_pairs == [[k, v] for k, v in conf.items()] and json.loads(conf_pairs[2][1]) == {"inputs": "rgb"}
