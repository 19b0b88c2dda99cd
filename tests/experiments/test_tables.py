"""The experiments' table writers and statistics on small hand-made results (no training)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from experiments import curve_tables, paper_tables
from experiments.spec import CurveRunSpec, DepthRunSpec
from experiments.tables import (
    goals,
    paired_differences,
    paired_rows,
    recovered_fraction,
    recovered_fraction_lines,
    summarize,
    write_curve_tables,
    write_depth_tables,
)
from monai_gamanet.metrics.depth import DEPTH_METRICS

RECORDED = paper_tables.SETTINGS_TEXT["recorded"]


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
    spec = DepthRunSpec(epochs=3, batch=16, size=(240, 120), samples=200, seeds=(0, 1), runs=(), out=tmp_path)
    curves = {"gamanet": [[0.5, 0.6, 0.7, 0.71, 0.72, 0.72], [0.4, 0.5]]}
    text = write_depth_tables(spec, results, settings_text=RECORDED, curves=curves, minutes=1.0)
    assert "Table 2" not in text and "Table 3" not in text  # GAMA-Net alone compares with nothing there
    assert "averaged over the 2 seeds" in text and "Standard deviation over seeds 0, 1:" in text
    assert "Best per column: Abs Rel: GAMA-Net (with all modules), " in text
    assert "δ<1.25³: Baseline + PBHA module" in text  # a tie goes to the first row
    assert "| Baseline + PBHA module | 4 | +0.1100 ± " in text  # the paired δ<1.25 difference
    assert "| gamanet | +0.0150 | 0.7200 |" in text  # plateau: mean of the last third minus the middle third
    saved = json.loads((tmp_path / "tables.json").read_text())
    assert saved["per_seed"]["1"]["gamanet"]["abs_rel"] == 0.18 and saved["sd"]["gamanet"]["delta2"] == 0.0


def _scored(delta1: float, aligned: float) -> dict:
    """A run's metrics.json with only the values the recovered fraction reads."""
    return {"metrics": {"delta1": delta1}, "metrics_aligned": {"aligned_delta1": aligned}, "per_image": []}


def _reference(surface: float, blind: float) -> dict[str, dict[str, float]]:
    columns = [*DEPTH_METRICS, *(f"aligned_{m}" for m in DEPTH_METRICS)]
    return {"surface": dict.fromkeys(columns, surface), "photo_blind": dict.fromkeys(columns, blind)}


def test_recovered_fraction_reads_each_runs_own_target(tmp_path: Path) -> None:
    """The references of the target the runner says each run is scored against (``targets``), not of another."""
    assert recovered_fraction(0.75, 1.0, 0.5) == 0.5 and math.isnan(recovered_fraction(0.5, 0.5, 0.5))  # no room
    results = {0: {"gamanet": _scored(0.75, 0.625), "target_minmax": _scored(0.5, 0.5)}}
    reference = {0: {"1-99 % target": _reference(1.0, 0.5), "min-max target": _reference(0.75, 0.25)}}
    targets = {"gamanet": "1-99 % target", "target_minmax": "min-max target"}
    lines = recovered_fraction_lines(results, reference, targets)
    assert lines[-2] == (
        "| gamanet | 1-99 % target | 0.7500 | 1.0000 | 0.5000 | 0.75 x | 50.0% | 0.6250 | 1.0000 | 0.5000 | 25.0% |"
    )
    assert lines[-1].startswith("| target_minmax | min-max target | 0.5000 | 0.7500 | 0.2500 | 0.67 x | 50.0% |")
    spec = DepthRunSpec(out=tmp_path, seeds=(0,), runs=("gamanet", "target_minmax"), name="t", device_name="elsewhere")
    text = write_depth_tables(spec, results, settings_text=RECORDED, targets=targets, reference=reference, minutes=2.0)
    assert lines[-2] in text and "| True surface (noise-free), min-max target |" in text
    assert "device: elsewhere; 2 min of training" in text and RECORDED in text
    saved = json.loads((tmp_path / "t.json").read_text())
    assert saved["budget"] == spec.budget() | {"minutes": 2.0, "device": "elsewhere"}
    assert saved["references"]["0"] == reference[0] and (tmp_path / "t.md").read_text() == text


def _metrics(dice: list[float], cobb: list[float | None], severity_right: list[bool]) -> dict:
    rows = []
    for i, (d, c, ok) in enumerate(zip(dice, cobb, severity_right, strict=True)):
        row = {"image": f"/x/images/case_{i}.png", "label": f"/x/labels/case_{i}.png", "dice": d, "iou": d / 2}
        row |= {"true_major_cobb_deg": 20.0, "true_severity": "moderate", "true_curve_type": "C"}
        if c is not None:
            row |= {"major_cobb_deg": c, "severity": "moderate" if ok else "severe", "curve_type": "C"}
        rows.append(row)
    found = [abs(c - 20.0) for c in cobb if c is not None]
    metrics = {"dice": sum(dice) / len(dice), "iou": sum(dice) / len(dice) / 2, "cobb_mae": sum(found) / len(found)}
    metrics |= {"severity_accuracy": sum(severity_right) / len(dice), "cobb_r": None, "no_curve_found": 0.0}
    return {"name": "x", "metrics": metrics, "per_image": rows}


def _curve_tables(spec: CurveRunSpec, results: dict, **kwargs) -> str:
    return write_curve_tables(
        spec,
        results,
        1.0,
        settings_text=curve_tables.SETTINGS_TEXT[spec.settings],
        depth_settings_text=paper_tables.SETTINGS_TEXT[spec.depth_settings],
        **kwargs,
    )


def test_paired_rows_goals_and_tables(tmp_path: Path) -> None:
    rgbd = _metrics([0.9, 0.8, 0.7], [21.0, 18.0, 22.0], [True, True, True])
    rgb = _metrics([0.8, 0.7, 0.7], [25.0, None, 22.0], [True, False, False])
    depth = _metrics([0.5, 0.5, 0.5], [30.0, 30.0, 30.0], [False, False, False])
    rows = paired_rows(rgb)
    assert rows["case_1.png"] == {"dice": 0.7, "iou": 0.35, "severity_correct": 0.0, "curve_type_correct": 0.0}
    assert rows["case_0.png"]["cobb_error"] == 5.0
    spec = CurveRunSpec(out=tmp_path, name="t", epochs=1, batch=8, size=(32, 16), samples=30, jobs=1)
    spec = replace(spec, depth_out=Path("d"), depth_epochs=1, depth_size=(48, 24), depth_settings="recorded")
    text = _curve_tables(spec, {0: {"rgbd": rgbd, "rgb": rgb, "depth": depth}})
    saved = json.loads((tmp_path / "t.json").read_text())
    dice, n = saved["paired"]["rgbd - rgb"]["dice"][0], saved["paired"]["rgbd - rgb"]["dice"][2]
    assert abs(dice - 0.2 / 3) < 1e-9 and n == 3
    cobb = saved["paired"]["rgbd - rgb"]["cobb_error"]  # only the 2 photos where both found a curve
    assert cobb[2] == 2 and abs(cobb[0] - ((1 - 5) + (2 - 2)) / 2) < 1e-9
    assert "better than RGB on Dice, paired, beyond 2 SE: MISSED" in text  # +0.067 ± 0.033: not beyond 2 SE
    assert "Cobb MAE <= 4 deg with RGBD (RGB + estimated depth; the paper's): met (1.67)" in text
    assert "Severity accuracy >= 85% with RGBD: met (100.0%)" in text
    # Bland-Altman over the found curves: rgbd's errors +1, -2, +2 -> bias +0.33, SD 2.08
    assert saved["bland_altman"]["rgbd"]["photos"] == 3 and abs(saved["bland_altman"]["rgbd"]["bias"] - 1 / 3) < 1e-9
    assert abs(saved["bland_altman"]["rgbd"]["upper"] - (1 / 3 + 1.96 * 2.0816659994661326)) < 1e-9
    assert "| RGB only | +3.50 |" in text  # rgb's two found curves: +5 and +2
    mean = {"rgbd": {"cobb_mae": 4.5, "severity_accuracy": 0.8}, "rgbd_gt": {"cobb_mae": 2.5}}
    paired = {("rgbd", "rgb"): {"dice": (0.05, 0.01, 80), "cobb_error": (-0.5, 0.3, 70)}}
    said = goals(mean, paired)
    assert said[0].endswith("on Dice, paired, beyond 2 SE: met (+0.050 ± 0.010 over 80 photos).")
    assert "on Cobb error, paired, beyond 2 SE: MISSED (-0.500 ± 0.300 over 70 photos)" in said[1]
    assert "with RGBD (RGB + estimated depth; the paper's): MISSED (4.50)" in said[2] and "met (2.50)" in said[3]
    assert "MISSED (80.0%)" in said[4]


def test_curve_tables_show_each_seeds_curve_and_record_the_budget(tmp_path: Path) -> None:
    """The validation curves come seed by seed in ``spec.seeds``' order; rows and curves in the tables' order."""
    results = {
        seed: {"rgb": _metrics([0.5], [20.0], [True]), "depth": _metrics([0.5], [20.0], [True])} for seed in (0, 1)
    }
    rising, flat = [0.25] * 10 + [0.5] * 10, [0.5] * 20
    spec = CurveRunSpec(out=tmp_path / "t4", seeds=(1, 0), runs=("rgb", "depth"), depth_bundle=Path("/b"))
    text = _curve_tables(spec, results, curves={"rgb": [rising, flat], "depth": [flat, []]})
    assert text.index("| Estimated depth only |") < text.index("| RGB only |")  # CURVE_ROWS' order, not --runs'
    # seed 1 is the first curve: last third 0.5, middle third (0.25, 0.25, 0.5, 0.5, 0.5, 0.5)
    assert "| rgb | 1 | +0.0833 | 0.5000 | 0.250 0.500 |" in text and "| rgb | 0 | +0.0000 | 0.5000 |" in text
    assert "| depth | 1 | +0.0000 |" in text and "| depth | 0 |" not in text  # an empty curve: no row
    assert "depth model: `/b` for every seed (settings {})." in text
    assert curve_tables.SETTINGS_TEXT["bundle"] in text and "1 min of run time" in text
    saved = json.loads((tmp_path / "t4" / "table4.json").read_text())
    assert saved["budget"] == spec.budget() and saved["budget"]["depth_bundle"] == "/b"
