"""The GPU experiment scripts, dry-run on the CPU on a tiny phantom: start in the background, watch, collect."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_tables.sh"


def test_gpu_tables_script_runs_watches_and_collects(tmp_path: Path) -> None:
    runs, collected = tmp_path / "runs", tmp_path / "collected"
    env = {**os.environ, "GPU_RUNS": str(runs), "PYTHON": sys.executable, "SIZE": "48 24", "SAMPLES": "10"}
    env |= {"SEEDS": "0", "RUNS": "fde gamanet", "JOBS": "2", "WORKERS": "1", "EPOCHS": "1", "WATCH_EVERY": "2"}
    env["PYTHONPATH"] = str(SCRIPT.parents[1])
    started = subprocess.run(["bash", str(SCRIPT), "start", "0.001"], env=env, capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    pid = int(re.search(r"runner started \(pid (\d+)\)", started.stdout).group(1))
    try:
        watched = subprocess.run(["bash", str(SCRIPT), "watch", "600"], env=env, capture_output=True, text=True)
        assert "runner finished" in watched.stdout, watched.stdout + (runs / "runner.log").read_text()[-3000:]
        assert "seed0/gamanet/log.txt: Epoch[1] δ1" in watched.stdout
        subprocess.run(["bash", str(SCRIPT), "collect", str(collected)], env=env, check=True, capture_output=True)
    finally:
        try:
            os.killpg(pid, signal.SIGKILL)  # the runner leads its own session (setsid); gone already if it finished
        except ProcessLookupError:
            pass
    assert "**Table 3. Comparison with FDSI and FDE**" in (collected / "gpu_tables.md").read_text()
    assert "stage to epoch 1 done" in (collected / "runner.log").read_text()
    with tarfile.open(collected / "logs.tar.gz") as tar:
        names = set(tar.getnames())
    assert {"gpu_tables_e1.md", "seed0/fde/log.txt", "seed0/gamanet/eval/metrics.json"} <= names
