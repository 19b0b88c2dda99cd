"""The paper-tables experiment runner: one tiny run through the bundle, tables in the paper's format, resumable."""

from __future__ import annotations

import json
from pathlib import Path

from experiments import paper_tables
from experiments.paper_tables import main as tables_main
from experiments.spec import DepthRunSpec
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
    with_gap = json.loads((tmp_path / "tables.json").read_text())
    assert set(with_gap["results"]["fde"]) == set(saved["results"]["fde"])  # the gap rows overwrite no result
    gap = with_gap["generalisation"]["fde"][0]
    assert set(gap) == {"training", "test"} and 0 <= gap["test"]["delta1"] <= 1 and gap["training"]["abs_error"] > 0
    assert "training abs. error | test abs. error" in text
    # the tables again from the saved runs alone (as from runs trained on another machine): nothing is trained
    saved = tables_main([*more, "--tables-only", "--name", "saved", "--device-name", "elsewhere"])
    assert "device: elsewhere" in saved and "| FDE |" in saved and "True surface (noise-free)" in saved
    assert (tmp_path / "seed0" / "fde" / "log.txt").read_text() == log


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

    def fake_run_tables(spec: DepthRunSpec, datasets: dict) -> str:  # one minute per added epoch
        clock[0] += 60.0 * (spec.epochs - (stages[-1] if stages else 0))
        stages.append(spec.epochs)
        for suffix in ("md", "json"):
            (spec.out / f"{spec.name}.{suffix}").write_text(f"epochs {spec.epochs}")
        return f"epochs {spec.epochs}"

    monkeypatch.setattr(paper_tables, "run_tables", fake_run_tables)
    monkeypatch.setattr(paper_tables.time, "monotonic", lambda: clock[0])
    spec = DepthRunSpec(out=tmp_path, name="t", epochs=2, minutes=10.0, runs=())
    assert paper_tables.run_in_stages(spec, {}) == "epochs 9"
    # 2 min spent, 8 left: 0.85 x 8 -> 6 more epochs; 2 left -> 1 more; 1 left -> 0.85 of an epoch: stop
    assert stages == [2, 8, 9] and clock[0] == 540.0
    assert [(tmp_path / f"t_e{e}.md").read_text() for e in stages] == [f"epochs {e}" for e in stages]
    assert spec.epochs == 2  # each stage is a new spec; the caller's is left as it was


def test_run_all_leaves_a_failed_run_out(tmp_path: Path) -> None:
    """Every (seed, run) pair trained, seed-major; a run that raises RuntimeError is left out, not the others."""
    spec = DepthRunSpec(out=tmp_path, seeds=(1, 0), runs=("fde", "gamanet"), jobs=2)
    asked = []

    def train(seed: int, name: str) -> dict:
        asked.append((seed, name))
        if (seed, name) == (0, "fde"):
            raise RuntimeError("out of memory")
        return {"seed": seed, "name": name}

    results = paper_tables.run_all(spec, train)
    assert sorted(asked) == sorted(spec.todo()) and list(results) == [1, 0]
    assert results == {
        1: {"fde": {"seed": 1, "name": "fde"}, "gamanet": {"seed": 1, "name": "gamanet"}},
        0: {"gamanet": {"seed": 0, "name": "gamanet"}},
    }


def test_saved_results_leave_out_runs_without_metrics(tmp_path: Path) -> None:
    spec = DepthRunSpec(out=tmp_path, seeds=(0, 1), runs=("fde", "gamanet"))
    for seed, name in [(0, "fde"), (1, "gamanet")]:
        (spec.seed_dir(seed) / name / "eval").mkdir(parents=True)
        (spec.seed_dir(seed) / name / "eval" / "metrics.json").write_text(json.dumps({"run": f"{name}{seed}"}))
    assert paper_tables.saved_results(spec) == {0: {"fde": {"run": "fde0"}}, 1: {"gamanet": {"run": "gamanet1"}}}
    assert paper_tables.validation_curves(spec) == {"fde": [[], []], "gamanet": [[], []]}  # no logs: no curves
