"""The paper-tables experiment runner: one tiny run through the bundle, tables in the paper's format, resumable."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from monai_gamanet.demo import main as demo_main
from monai_gamanet.metrics.depth import DEPTH_METRICS
from monai_gamanet.paper_tables import main as tables_main
from monai_gamanet.paper_tables import summarize, write_tables


def test_one_tiny_run_makes_table3(tmp_path: Path) -> None:
    args = ["--out", str(tmp_path), "--runs", "fde", "--epochs", "1", "--samples", "10", "--size", "48", "24"]
    text = tables_main(args + ["--batch", "4"])
    assert "**Table 3. Comparison with FDSI and FDE**" in text and "| FDE |" in text and "Table 1" not in text
    assert "Best per column" not in text  # one row: nothing to compare
    saved = json.loads((tmp_path / "tables.json").read_text())
    assert set(saved["results"]["fde"]) == {"abs_rel", "rmse", "sq_rel", "delta1", "delta2", "delta3"}
    # the noise-free surface against the sensor's ground truth: close, but not equal (noise, holes, range)
    surface = saved["surface_reference"]["0"]
    assert "| True surface (noise-free) |" in text and 0.5 < surface["delta1"] < 1.0 and surface["delta3"] > 0.9
    stamp = (tmp_path / "seed0" / "fde" / "eval" / "metrics.json").stat().st_mtime
    tables_main(args + ["--batch", "4"])  # a finished run is not repeated
    assert (tmp_path / "seed0" / "fde" / "eval" / "metrics.json").stat().st_mtime == stamp


def _metrics(abs_rel: float, delta1: float) -> dict[str, float]:
    return {
        "abs_rel": abs_rel,
        "rmse": abs_rel / 4,
        "sq_rel": abs_rel / 10,
        "delta1": delta1,
        "delta2": 0.9,
        "delta3": 0.95,
    }


def test_several_seeds_give_mean_spread_and_winners(tmp_path: Path) -> None:
    per_seed = {
        0: {"baseline+pbha": _metrics(0.20, 0.70), "gamanet": _metrics(0.24, 0.74)},
        1: {"baseline+pbha": _metrics(0.30, 0.60), "gamanet": _metrics(0.18, 0.78)},
    }
    mean, sd = summarize(per_seed)
    assert mean["gamanet"]["abs_rel"] == pytest.approx(0.21) and mean["baseline+pbha"]["delta1"] == pytest.approx(0.65)
    assert sd["gamanet"]["abs_rel"] == pytest.approx(0.0424264, abs=1e-6) and set(sd["gamanet"]) == set(DEPTH_METRICS)
    args = argparse.Namespace(epochs=3, batch=16, size=(240, 120), samples=200, seeds=[0, 1], runs=[], out=tmp_path)
    text = write_tables(tmp_path, per_seed, args, minutes=1.0)
    assert "Table 2" not in text and "Table 3" not in text  # GAMA-Net alone compares with nothing there
    assert "averaged over the 2 seeds" in text and "Standard deviation over seeds 0, 1:" in text
    assert "Best per column: Abs Rel: GAMA-Net (with all modules), " in text
    assert "δ<1.25³: Baseline + PBHA module" in text  # a tie goes to the first row
    saved = json.loads((tmp_path / "tables.json").read_text())
    assert saved["per_seed"]["1"]["gamanet"]["abs_rel"] == 0.18 and saved["sd"]["gamanet"]["delta2"] == 0.0


def test_demo_phantom_step(tmp_path: Path) -> None:
    demo_main(["--out", str(tmp_path), "--n", "3", "--skip-training", "--workers", "1"])
    assert (tmp_path / "phantom" / "preview.png").is_file() and (tmp_path / "phantom" / "datalist.json").is_file()
