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


def test_interleaved_latency_ratio_compares_alternating_runs() -> None:
    import importlib.util
    import time

    import torch

    spec = importlib.util.spec_from_file_location("depth_networks", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    class Sleeper(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            time.sleep(0.005)
            return x

    x, cpu = torch.zeros(1), torch.device("cpu")
    fast_over_slow = bench.interleaved_latency_ratio(torch.nn.Identity(), x, Sleeper(), x, 5, cpu)
    assert 0.0 < fast_over_slow < 0.5
    assert bench.interleaved_latency_ratio(Sleeper(), x, torch.nn.Identity(), x, 5, cpu) > 2.0
