"""The paper-tables experiment runner: one tiny run through the bundle, tables in the paper's format, resumable."""

from __future__ import annotations

import json
from pathlib import Path

from monai_gamanet.demo import main as demo_main
from monai_gamanet.paper_tables import main as tables_main


def test_one_tiny_run_makes_table3(tmp_path: Path) -> None:
    args = ["--out", str(tmp_path), "--runs", "fde", "--epochs", "1", "--samples", "10", "--size", "48", "24"]
    text = tables_main(args + ["--batch", "4"])
    assert "**Table 3. Comparison with FDSI and FDE**" in text and "| FDE |" in text and "Table 1" not in text
    metrics = json.loads((tmp_path / "tables.json").read_text())["results"]["fde"]
    assert set(metrics) == {"abs_rel", "rmse", "sq_rel", "delta1", "delta2", "delta3"}
    stamp = (tmp_path / "fde" / "eval" / "metrics.json").stat().st_mtime
    tables_main(args + ["--batch", "4"])  # a finished run is not repeated
    assert (tmp_path / "fde" / "eval" / "metrics.json").stat().st_mtime == stamp


def test_demo_phantom_step(tmp_path: Path) -> None:
    demo_main(["--out", str(tmp_path), "--n", "3", "--skip-training", "--workers", "1"])
    assert (tmp_path / "phantom" / "preview.png").is_file() and (tmp_path / "phantom" / "datalist.json").is_file()
