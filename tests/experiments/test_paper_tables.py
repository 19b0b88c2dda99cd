"""The paper-tables experiment runner: one tiny run through the bundle, tables in the paper's format, resumable."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from experiments import paper_tables
from experiments.paper_tables import main as tables_main
from experiments.paper_tables import paired_differences, summarize, write_tables
from monai_gamanet.cli.demo import main as demo_main
from monai_gamanet.metrics.depth import DEPTH_METRICS


def test_one_tiny_run_makes_table3(tmp_path: Path) -> None:
    args = ["--out", str(tmp_path), "--runs", "fde", "gamanet", "--epochs", "1", "--samples", "10"]
    args += ["--size", "48", "24", "--batch", "4", "--jobs", "2"]
    text = tables_main(args)
    assert "**Table 3. Comparison with FDSI and FDE**" in text and "| FDE |" in text and "Table 1" not in text
    assert "| Method | Abs Rel | RMSE | Sq Rel | δ<1.25 | δ<1.25² | δ<1.25³ | Abs Rel (aligned) |" in text
    saved = json.loads((tmp_path / "tables.json").read_text())
    assert set(DEPTH_METRICS) | {f"aligned_{m}" for m in DEPTH_METRICS} == set(saved["results"]["fde"])
    # the noise-free surface against the sensor's ground truth, at the runs' size: close, but not equal; the
    # photo-blind mean map of the training split below it
    reference = saved["references"]["0"]
    assert set(reference) == {"1-99 % target", "min-max target"}
    for rows in reference.values():
        assert 0.5 < rows["surface"]["delta1"] < 1.0 and rows["surface"]["delta3"] > 0.85
        assert rows["photo_blind"]["delta1"] < rows["surface"]["delta1"]
    assert "| True surface (noise-free), 1-99 % target |" in text and "at the same size (48 x 24)" in text
    assert "| Mean training map (photo-blind), min-max target |" in text
    assert [len(c) for c in saved["curves"]["fde"]] == [1]  # one validation per epoch, read from the log
    stamp = (tmp_path / "seed0" / "fde" / "eval" / "metrics.json").stat().st_mtime
    tables_main(args)  # a finished run is not repeated
    assert (tmp_path / "seed0" / "fde" / "eval" / "metrics.json").stat().st_mtime == stamp
    more = [*args]
    more[more.index("--epochs") + 1] = "2"
    text = tables_main([*more, "--gap"])  # more epochs: the run is continued from its last.pt and evaluated again
    log = (tmp_path / "seed0" / "fde" / "log.txt").read_text()
    assert "resumed from" in log and "at epoch 1 of 2" in log
    assert (tmp_path / "seed0" / "fde" / "eval" / "metrics.json").stat().st_mtime > stamp
    gap = json.loads((tmp_path / "tables.json").read_text())["generalisation"]["fde"][0]
    assert set(gap) == {"training", "test"} and 0 <= gap["test"]["delta1"] <= 1 and gap["training"]["abs_error"] > 0
    assert "training abs. error | test abs. error" in text
    # the tables again from the saved runs alone (as from runs trained on another machine): nothing is trained
    saved = tables_main([*more, "--tables-only", "--name", "saved", "--device-name", "elsewhere"])
    assert "device: elsewhere" in saved and "| FDE |" in saved and "True surface (noise-free)" in saved
    assert (tmp_path / "seed0" / "fde" / "log.txt").read_text() == log


def _run(abs_rel: float, delta1: float, per_image: list[float]) -> dict:
    metrics = {"abs_rel": abs_rel, "rmse": abs_rel / 4, "sq_rel": abs_rel / 10, "delta1": delta1}
    metrics |= {"delta2": 0.9, "delta3": 0.95}
    rows = [{"image": f"/data/case_{i}.png", "delta1": d, "abs_rel": abs_rel} for i, d in enumerate(per_image)]
    return {"metrics": metrics, "metrics_aligned": {"aligned_delta1": delta1 + 0.1}, "per_image": rows}


def test_several_seeds_give_mean_spread_winners_and_paired_differences(tmp_path: Path) -> None:
    results = {
        0: {"baseline+pbha": _run(0.20, 0.70, [0.6, 0.8]), "gamanet": _run(0.24, 0.74, [0.7, 0.78])},
        1: {"baseline+pbha": _run(0.30, 0.60, [0.5, 0.7]), "gamanet": _run(0.18, 0.78, [0.8, 0.76])},
    }
    per_seed = {s: {n: r["metrics"] for n, r in runs.items()} for s, runs in results.items()}
    mean, sd = summarize(per_seed)
    assert mean["gamanet"]["abs_rel"] == pytest.approx(0.21) and mean["baseline+pbha"]["delta1"] == pytest.approx(0.65)
    assert sd["gamanet"]["abs_rel"] == pytest.approx(0.0424264, abs=1e-6) and set(sd["gamanet"]) == set(DEPTH_METRICS)
    diff = paired_differences(
        [{Path(r["image"]).name: r for r in results[s]["gamanet"]["per_image"]} for s in (0, 1)],
        [{Path(r["image"]).name: r for r in results[s]["baseline+pbha"]["per_image"]} for s in (0, 1)],
    )
    assert diff["delta1"][0] == pytest.approx((0.1 - 0.02 + 0.3 + 0.06) / 4) and diff["delta1"][2] == 4
    args = argparse.Namespace(epochs=3, batch=16, size=(240, 120), samples=200, seeds=[0, 1], runs=[], out=tmp_path)
    curves = {"gamanet": [[0.5, 0.6, 0.7, 0.71, 0.72, 0.72], [0.4, 0.5]]}
    text = write_tables(tmp_path, results, args, curves=curves, minutes=1.0)
    assert "Table 2" not in text and "Table 3" not in text  # GAMA-Net alone compares with nothing there
    assert "averaged over the 2 seeds" in text and "Standard deviation over seeds 0, 1:" in text
    assert "Best per column: Abs Rel: GAMA-Net (with all modules), " in text
    assert "δ<1.25³: Baseline + PBHA module" in text  # a tie goes to the first row
    assert "| Baseline + PBHA module | 4 | +0.1100 ± " in text  # the paired δ<1.25 difference
    assert "| gamanet | +0.0150 | 0.7200 |" in text  # plateau: mean of the last third minus the middle third
    saved = json.loads((tmp_path / "tables.json").read_text())
    assert saved["per_seed"]["1"]["gamanet"]["abs_rel"] == 0.18 and saved["sd"]["gamanet"]["delta2"] == 0.0


def test_demo_phantom_step(tmp_path: Path) -> None:
    demo_main(["--out", str(tmp_path), "--n", "3", "--skip-training", "--workers", "1"])
    assert (tmp_path / "phantom" / "preview.png").is_file() and (tmp_path / "phantom" / "datalist.json").is_file()


def test_device_runner_options_reach_the_bundle(tmp_path: Path) -> None:
    """The GPU runner's options, on the CPU: samples cached on the training device, the bundle's own defaults."""
    args = ["--out", str(tmp_path), "--runs", "baseline", "gamanet", "--epochs", "1", "--samples", "10"]
    args += ["--size", "48", "24", "--batch", "4", "--jobs", "2", "--threads", "1", "--workers", "2"]
    options = ["--settings", "bundle", "--cache-on-device", "--shared-cache", "--name", "gpu", "--minutes", "0.001"]
    text = tables_main([*args, *options])
    assert "**Table 1. PBHA and AMFF modules**" in text and (tmp_path / "gpu.md").is_file()
    assert "the bundle's default depth target (min-max) and head (sigmoid)" in text
    assert (tmp_path / "gpu_e1.md").read_text() == text  # the stage's tables; no time left for another
    log = (tmp_path / "seed0" / "gamanet" / "log.txt").read_text()
    assert "> cache_device: '@device'" in log and "> cudnn_benchmark: True" in log  # a bool, not the string 'true'
    assert "> depth_percentiles" not in log and "> output_activation" not in log  # the bundle's defaults
    # every sample preprocessed once, before the runs, into the seed's shared cache that both runs loaded
    (folder,) = (tmp_path / "seed0" / "cache").iterdir()
    assert folder.name == "24x48_p0-100" and len(list(folder.glob("*.pt"))) == 10
    assert f"> shared_cache: '{tmp_path / 'seed0' / 'cache'}'" in log
    saved = json.loads((tmp_path / "gpu.json").read_text())
    assert saved["budget"]["settings"] == "bundle" and saved["budget"]["cache_on_device"] is True
    assert set(saved["results"]) == {"baseline", "gamanet"}


def test_time_budget_extends_every_run_by_the_epochs_that_fit(tmp_path: Path, monkeypatch) -> None:
    """--minutes: each stage's measured cost per epoch plans the next, until no whole epoch fits."""
    clock, stages = [0.0], []

    def fake_run_tables(args: argparse.Namespace, datasets: dict) -> str:  # one minute per added epoch
        clock[0] += 60.0 * (args.epochs - (stages[-1] if stages else 0))
        stages.append(args.epochs)
        for suffix in ("md", "json"):
            (args.out / f"{args.name}.{suffix}").write_text(f"epochs {args.epochs}")
        return f"epochs {args.epochs}"

    monkeypatch.setattr(paper_tables, "run_tables", fake_run_tables)
    monkeypatch.setattr(paper_tables.time, "monotonic", lambda: clock[0])
    args = argparse.Namespace(out=tmp_path, name="t", epochs=2, minutes=10.0)
    assert paper_tables.run_in_stages(args, {}) == "epochs 9"
    # 2 min spent, 8 left: 0.85 x 8 -> 6 more epochs; 2 left -> 1 more; 1 left -> 0.85 of an epoch: stop
    assert stages == [2, 8, 9] and clock[0] == 540.0
    assert [(tmp_path / f"t_e{e}.md").read_text() for e in stages] == [f"epochs {e}" for e in stages]
