"""The benchmark script still runs and prints its table (timings are reported, never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "depth_networks.py"


def test_depth_network_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "table.md"
    cmd = [sys.executable, str(SCRIPT), "--networks", "gamanet", "fdsi", "--size", "48", "48", "--repeats", "1"]
    cmd += ["--batch", "2", "--skip-train", "--no-reference", "--skip-onnx", "--device", "cpu", "--output", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    assert "| network | params (M) | GFLOPs |" in text
    rows = [line for line in text.splitlines() if line.startswith("| gamanet ") or line.startswith("| fdsi ")]
    assert len(rows) == 2 and all(float(r.split("|")[2]) > 1.0 for r in rows)  # parameter counts in millions
