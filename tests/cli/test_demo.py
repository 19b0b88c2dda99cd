"""The demo's steps, without training: the bundle commands it runs in turn (each step's settings reaching the
next), the pipeline's arguments, and the summary it prints of how the brief models did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monai_gamanet.cli import demo
from monai_gamanet.data.synthetic import generate_dataset


def _truth(phantom: Path, photo: str) -> dict:
    return json.loads((phantom / "curves" / f"{Path(photo).stem}.json").read_text())


def _write_reports(reports: Path, phantom: Path, photos: list[str], cobb_error: float) -> None:
    """Reports as the pipeline writes them: a curve found on the first photo (off by ``cobb_error``), none on the
    others, whose severity is then wrong."""
    reports.mkdir(parents=True, exist_ok=True)
    for k, photo in enumerate(photos):
        truth = _truth(phantom, photo)
        if k == 0:
            report = {"curve_found": True, "major_cobb_deg": truth["major_cobb_deg"] + cobb_error}
            report |= {"severity": truth["severity"], "points": [[48.0, 10.0], [47.0, 20.0], [46.0, 180.0]]}
        else:
            report = {"curve_found": False, "reason": "no curve pixel", "severity": "none"}
        (reports / f"{Path(photo).stem}_report.json").write_text(json.dumps(report))


@pytest.fixture(scope="module")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("demo") / "phantom"
    generate_dataset(root, 4, seed=3, height=96, width=48, preview=False)
    photos = [item["image"] for split in json.loads((root / "datalist.json").read_text()).values() for item in split]
    return root, photos


def test_brief_model_summary(phantom: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, photos = phantom
    _write_reports(tmp_path, root, photos[:2], cobb_error=2.5)
    text = demo.brief_model_summary(tmp_path, root, photos[:2], epochs=7)
    assert "Curve found on 1 of 2 held-out photos" in text and "(7 epochs of the curve U-Net" in text
    assert "Cobb MAE 2.5 deg and severity accuracy 50%" in text and demo.CONVERGED_DOCS in text
    for photo in photos[:2]:  # nothing found, the severity right (a straight back said to be straight)
        report = {"curve_found": False, "severity": _truth(root, photo)["severity"]}
        (tmp_path / f"{Path(photo).stem}_report.json").write_text(json.dumps(report))
    text = demo.brief_model_summary(tmp_path, root, photos[:2], epochs=7)
    assert "Curve found on 0 of 2" in text and "Cobb MAE - and severity accuracy 100%" in text


def test_the_steps_run_the_bundles_in_turn_with_the_settings_of_the_step_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    runs, pipelines = [], []
    monkeypatch.setattr(
        demo, "run_bundle", lambda bundle, configs, overrides: runs.append((bundle, configs, overrides))
    )

    def small(out: Path, n: int, seed: int, workers: int) -> dict:  # the phantom step at a tenth of the pixels
        return generate_dataset(out, n, seed=seed, workers=workers, height=96, width=48)

    monkeypatch.setattr(demo, "generate_dataset", small)

    def pipeline(args: list[str]) -> int:
        pipelines.append(args)
        photos = args[: args.index("--out")]
        _write_reports(Path(args[args.index("--out") + 1]), tmp_path / "phantom", photos, cobb_error=1.0)
        return 0

    monkeypatch.setattr(demo, "pipeline", pipeline)
    demo.main(["--out", str(tmp_path), "--n", "4", "--seed", "3", "--workers", "1", "--epochs", "2"])
    depth, curve = tmp_path / "back_depth_estimation", tmp_path / "spine_curve_segmentation"
    phantom = tmp_path / "phantom"
    common = {"bundle_root": depth, "dataset_dir": phantom, "spatial_size": [120, 240]}  # --size 240 120: (W, H)
    curve_settings = {"bundle_root": curve, "dataset_dir": phantom, "spatial_size": [128, 256]}
    curve_settings |= {"depth_bundle_root": depth, "depth_overrides": {"spatial_size": [120, 240]}}  # as trained
    curve_settings["learning_rate"] = demo.BRIEF_CURVE_LEARNING_RATE
    assert runs == [
        ("back_depth_estimation", ["train.yaml"], {**common, "epochs": 2}),
        ("back_depth_estimation", ["train.yaml", "evaluate.yaml"], common),
        ("back_depth_estimation", ["inference.yaml"], {"bundle_root": depth, "input": phantom / "datalist.json",
                                                      "spatial_size": [120, 240]}),
        ("spine_curve_segmentation", ["train.yaml"], {**curve_settings, "epochs": 10}),
        ("spine_curve_segmentation", ["train.yaml", "evaluate.yaml"], curve_settings),
    ]  # fmt: skip
    (args,) = pipelines
    test_photos = [item["image"] for item in json.loads((phantom / "datalist.json").read_text())["test"]]
    assert args[: len(test_photos)] == [str(phantom / p) for p in test_photos]  # the held-out photos only
    options = dict(zip(args[len(test_photos) :: 2], args[len(test_photos) + 1 :: 2], strict=True))
    assert options["--out"] == str(tmp_path / "pipeline") and options["--depth-bundle"] == str(depth)
    assert options["--curve-bundle"] == str(curve)
    assert float(options["--spacing"]) == _truth(phantom, test_photos[0])["pixel_spacing_mm"]
    assert json.loads(options["--curve-overrides"]) == {"spatial_size": [128, 256]}
    assert json.loads(options["--depth-overrides"]) == {"spatial_size": [120, 240]}
    printed = capsys.readouterr().out
    assert f"The report of {Path(test_photos[0]).name}" in printed
    assert '"points": "3 points, C7 first: [48.0, 10.0] ... [46.0, 180.0]"' in printed  # the long list shortened
    assert f"Curve found on 1 of {len(test_photos)} held-out photos" in printed and "Cobb MAE 1.0 deg" in printed


def test_demo_phantom_step(tmp_path: Path) -> None:
    demo.main(["--out", str(tmp_path), "--n", "3", "--skip-training", "--workers", "1"])
    assert (tmp_path / "phantom" / "preview.png").is_file() and (tmp_path / "phantom" / "datalist.json").is_file()
