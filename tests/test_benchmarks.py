"""The benchmark script still runs and prints its table (timings are reported, never asserted)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

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


def _load(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, SCRIPT.parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_surface_rotation_benchmark_scores_three_depth_maps(phantom_dir: Path, random_depth_bundle: Path) -> None:
    """Truth, noise-free surface, sensor and a (random) network's estimate, level by level, on the test photos."""
    from monai_gamanet.inference.depth import DepthPredictor

    bench = _load("surface_rotation")
    model = DepthPredictor.from_bundle(random_depth_bundle, {"spatial_size": [48, 96]}, "cpu")
    rows = bench.measure(phantom_dir, model, n=None)
    assert set(rows) == {"truth", "surface", "sensor", "estimate"} and len(rows["truth"]) % 18 == 0
    text = bench.table(rows)
    surface = next(line for line in text.splitlines() if line.startswith("| surface "))
    assert float(surface.split("|")[3]) < 1.0  # the noise-free surface reads the truth within a degree
    assert "estimate minus that of the sensor" in text


def test_curve_decoding_summary_pairs_the_two_read_outs() -> None:
    bench = _load("curve_decoding")

    def metrics(errors: list[float | None]) -> dict:
        rows = [{"image": f"case_{i}.png", "true_major_cobb_deg": 20.0} for i in range(len(errors))]
        for row, e in zip(rows, errors, strict=True):
            if e is not None:
                row["major_cobb_deg"] = 20.0 + e
        found = [e for e in errors if e is not None]
        mean = {"dice": 0.5, "cobb_mae": sum(abs(e) for e in found) / len(found), "no_curve_found": 1.0}
        return {"metrics": mean | {"severity_accuracy": 0.5}, "per_image": rows}

    text = bench.summary({"rgb": {"probability": metrics([1.0, -2.0, 3.0]), "mask": metrics([2.0, None, 5.0])}})
    probability = next(line for line in text.splitlines() if "| probability |" in line)
    assert "-1.50 ± 0.50 (2)" in probability  # |1| - |2| and |3| - |5| over the two photos both read


def test_label_server_load_benchmark_drives_a_real_server(tmp_path: Path) -> None:
    """Two rows against the app on 127.0.0.1 at a tiny size: every infer answered, the table printed."""
    bench = _load("label_server_load")
    assert bench.percentile([3.0, 1.0, 2.0], 50) == 2.0 and bench.percentile([1.0, 2.0], 95) == 1.95
    out = tmp_path / "table.md"
    args = ["--clients", "1", "2", "--requests", "2", "--photos", "2", "--size", "48", "96", "--out", str(tmp_path)]
    assert bench.main([*args, "--output", str(out)]) == 0
    rows = [line.split("|") for line in out.read_text().splitlines()[2:]]
    assert [(r[1].strip(), r[2].strip(), r[3].strip()) for r in rows] == [("1", "2", "0"), ("2", "2", "0")]


class OffsetChain:
    """Stands in for the chain: the true curve's major Cobb angle of each capture, plus 1 deg on odd captures and
    minus 1 deg on even ones (a model whose error depends on the session only)."""

    def __init__(self, seed: int, size: tuple[int, int]) -> None:
        self.seed, self.size = seed, size

    def __call__(self, photo, name: str, spacing, depth_range_mm):
        from types import SimpleNamespace

        from monai_gamanet.data.synthetic import generate_sample

        back, capture = map(int, re.fullmatch(r"back(\d+)_capture(\d+)", name).groups())
        truth = generate_sample(back, self.seed, *self.size, capture=capture).curve
        report = {
            "curve_found": True,
            "major_cobb_deg": truth["major_cobb_deg"] + (1.0 if capture % 2 else -1.0),
            "surface_rotation_deg": {"T8": float(capture)},
        }
        return SimpleNamespace(report=report)


def test_repeatability_pools_the_within_back_spread() -> None:
    import numpy as np

    bench = _load("repeatability")
    sd, pooled = bench.within_sd(np.array([[10.0, 12.0, np.nan], [20.0, 20.0, 20.0], [5.0, np.nan, np.nan]]))
    assert pooled == 2 and sd == pytest.approx(np.sqrt((2.0 + 0.0) / 2))  # the lone capture pools nothing
    size = (96, 48)
    results = bench.measure({"offset": OffsetChain(11, size)}, backs=3, captures=2, seed=11, size=size)
    stats = bench.figures(results)["offset"]
    truth = results["truth"]
    expected = bench.within_sd(truth + np.array([-1.0, 1.0]))[0]
    assert stats["cobb_within_sd_deg"] == pytest.approx(expected, abs=1e-3) and stats["cobb_mae_deg"] == 1.0
    assert stats["cobb_sdc_deg"] == pytest.approx(1.96 * np.sqrt(2) * expected, abs=2e-3)
    assert stats["rotation_within_sd_deg"] == pytest.approx(np.sqrt(0.5), abs=1e-3)  # 0 then 1 deg at T8
    assert stats["curve_found"] == 6 and set(stats["factor_r"]) == set(bench.FACTORS)
    assert "| offset | 6/6 | 3 |" in bench.table({"offset": stats}, 3, 2)


def test_repeatability_benchmark_runs_the_real_chain(
    random_depth_bundle: Path, random_curve_bundle: Path, random_rgb_curve_bundle: Path, tmp_path: Path
) -> None:
    curve = shutil.copytree(random_curve_bundle, tmp_path / "curve_bundle")  # a record here reaches no other test
    args = ["--depth-bundle", str(random_depth_bundle), "--depth-overrides", '{"spatial_size": [24, 48]}']
    args += ["--curve-bundle", str(curve), "--curve-overrides", '{"spatial_size": [32, 64]}', "--size", "96", "48"]
    args += ["--backs", "2", "--captures", "2", "--output", str(tmp_path / "out")]
    text = _load("repeatability").main(args)
    assert text.startswith("| model | curve found |") and "| RGBD curve |" in text
    rgb = ["--rgb-curve-bundle", str(random_rgb_curve_bundle)]  # an RGB-only U-Net beside it: both rows measured
    both = _load("repeatability").main([*args[:-2], *rgb])  # no --output: printed only
    assert "| RGBD curve |" in both and "| RGB curve |" in both
    assert (tmp_path / "out" / "repeatability.md").read_text().strip() == text
    figures = json.loads((tmp_path / "out" / "repeatability.json").read_text())["RGBD curve"]
    if figures["cobb_sdc_deg"] is None:  # a random model finds a curve twice on a back by chance only
        with pytest.raises(SystemExit):
            _load("repeatability").main([*args, "--record"])
        assert not (curve / "models" / "repeatability.json").exists()
    else:
        _load("repeatability").main([*args, "--record"])
        assert json.loads((curve / "models" / "repeatability.json").read_text())["cobb_sdc_deg"] >= 0


def test_curve_uncertainty_correlation_arithmetic() -> None:
    """Pearson r, its Fisher-z interval and Spearman's r on samples of known relation; too few pairs give None."""
    bench = _load("curve_uncertainty")
    x = np.arange(20.0)
    exact = bench.correlation(x, 2 * x + 1)
    assert exact["r"] == pytest.approx(1.0) and exact["spearman"] == pytest.approx(1.0)
    noisy = bench.correlation(x, x**3 - 30 * x**2)  # monotone after its dip: Spearman and Pearson differ
    assert noisy["r_low"] < noisy["r"] < noisy["r_high"] and noisy["r"] != pytest.approx(noisy["spearman"])
    flat = bench.correlation(x, np.ones(20))
    assert flat == {"r": None, "r_low": None, "r_high": None, "spearman": None}
    rows = [
        {"cobb_error_deg": float(e), "uncertainty": float(u), "severity_right": True, "dice": 0.5, "redraw_share": 0}
        for e, u in zip([1, 2, 3, 4, 5, 6, 7, 8, 9, float("nan")], [0.1 * i for i in range(10)], strict=True)
    ]
    stats = bench.figures(rows)  # the error rises with the uncertainty: predictive, the thirds ordered
    assert stats["curve_found"] == 9 and stats["predictive"] and stats["correlation"]["r"] == pytest.approx(1.0)
    assert stats["mae_most_certain_third"] == pytest.approx(2.0) and stats["mae_least_certain_third"] == pytest.approx(
        8
    )


def test_curve_uncertainty_benchmark_runs_the_real_chain(
    phantom_dir: Path, random_depth_bundle: Path, random_curve_bundle: Path, random_rgb_curve_bundle: Path, tmp_path
) -> None:
    args = ["--dataset", str(phantom_dir), "--split", "validation", "--depth-bundle", str(random_depth_bundle)]
    args += ["--depth-overrides", '{"spatial_size": [24, 48]}', "--curve-overrides", '{"spatial_size": [32, 64]}']
    models = ["--curve-bundle", f"rgbd={random_curve_bundle}", "--curve-bundle", f"rgb={random_rgb_curve_bundle}"]
    text = _load("curve_uncertainty").main([*args, *models, "--output", str(tmp_path)])
    assert text.startswith("| model | curve found |") and "| rgbd | " in text and "| rgb | " in text
    strict = {"parse_constant": lambda c: pytest.fail(f"{c} in the JSON")}  # no NaN for a curve not found
    saved = json.loads((tmp_path / "curve_uncertainty.json").read_text(), **strict)
    assert len(saved["photos"]["rgb"]) == len(json.loads((phantom_dir / "datalist.json").read_text())["validation"])
    with pytest.raises(SystemExit):  # two datasets need each model twice, in the same order
        _load("curve_uncertainty").main([*args, "--dataset", str(phantom_dir), *models])
    with pytest.raises(SystemExit):
        _load("curve_uncertainty").main([*args, "--curve-bundle", "no-folder-given"])
