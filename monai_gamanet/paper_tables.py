"""The paper's Tables 1-3 on the phantom: every variant trained and tested with the same data, seed and budget.

    python -m monai_gamanet.paper_tables --out runs/paper_tables --epochs 10 --size 240 120 --samples 200 --seeds 0 1

Each run is the back_depth_estimation bundle itself (``monai.bundle run`` with ``train.yaml`` then
``evaluate.yaml``), in its own process and bundle folder under ``--out/seed<S>/``. Within a seed every variant
shares one phantom dataset (generated with that seed) and the same training seed; each seed repeats the whole
experiment on a new phantom and a new initialisation, so the tables report the mean over seeds and, with more
than one seed, the spread (standard deviation) that tells a real difference from noise:

* Table 1: ``gamanet_baseline``, ``gamanet_pbha``, ``gamanet_amff``, ``gamanet`` (full loss);
* Table 2: GAMA-Net with only the gradient, only the SSIM or only the BerHu term (the paper's weights, others 0),
  and the full loss (the Table 1 run);
* Table 3: ``fdsi``, ``fde`` and ``gamanet`` (the Table 1 run).

Writes ``tables.md`` (the paper's format, the budget, the machine, which row is best in each column and, with
several seeds, the standard deviations) and ``tables.json`` (means, standard deviations and every seed's metrics).
A run whose ``eval/metrics.json`` exists is not repeated, so an interrupted experiment continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from monai_gamanet.data.synthetic import generate_dataset, generate_sample
from monai_gamanet.handlers.report import HEADERS, metrics_markdown
from monai_gamanet.metrics.depth import DEPTH_METRICS, HIGHER_IS_BETTER, compute_depth_metrics

__all__ = ["RUNS", "TABLES", "best_rows", "main", "summarize"]

logger = logging.getLogger("monai_gamanet.paper_tables")

CONFIGS = Path(__file__).resolve().parents[1] / "bundles" / "back_depth_estimation" / "configs"
FULL_LOSS = {"berhu_weight": 5.0, "ssim_weight": 1.0, "gradient_weight": 0.5}
# run name -> (network, loss weights)
RUNS: dict[str, tuple[str, dict[str, float]]] = {
    "baseline": ("gamanet_baseline", FULL_LOSS),
    "baseline+pbha": ("gamanet_pbha", FULL_LOSS),
    "baseline+amff": ("gamanet_amff", FULL_LOSS),
    "gamanet": ("gamanet", FULL_LOSS),
    "loss_grad": ("gamanet", {"berhu_weight": 0.0, "ssim_weight": 0.0, "gradient_weight": 0.5}),
    "loss_ssim": ("gamanet", {"berhu_weight": 0.0, "ssim_weight": 1.0, "gradient_weight": 0.0}),
    "loss_berhu": ("gamanet", {"berhu_weight": 5.0, "ssim_weight": 0.0, "gradient_weight": 0.0}),
    "fdsi": ("fdsi", FULL_LOSS),
    "fde": ("fde", FULL_LOSS),
}
# table -> [(row label, run name)]
TABLES: dict[str, list[tuple[str, str]]] = {
    "Table 1. PBHA and AMFF modules": [
        ("Baseline", "baseline"),
        ("Baseline + PBHA module", "baseline+pbha"),
        ("Baseline + AMFF module", "baseline+amff"),
        ("GAMA-Net (with all modules)", "gamanet"),
    ],
    "Table 2. Loss components": [
        ("L_grad", "loss_grad"),
        ("L_SSIM", "loss_ssim"),
        ("L_BerHu", "loss_berhu"),
        ("L_Total", "gamanet"),
    ],
    "Table 3. Comparison with FDSI and FDE": [("FDSI", "fdsi"), ("FDE", "fde"), ("Ours (GAMA-Net)", "gamanet")],
}


def _bundle(root: Path, configs: list[str], overrides: dict) -> None:
    cmd = [sys.executable, "-m", "monai.bundle", "run", "--config_file", str([str(CONFIGS / c) for c in configs])]
    for key, value in overrides.items():
        cmd += [f"--{key}", json.dumps(value) if not isinstance(value, str) else value]
    cmd += ["--logging_file", str(CONFIGS / "logging.conf")]
    log = root / "log.txt"
    root.mkdir(parents=True, exist_ok=True)
    with log.open("a") as f:
        result = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if result.returncode:
        raise RuntimeError(f"bundle run failed ({' '.join(configs)}); see {log}")


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")


def run_minutes(root: Path) -> float:
    """Wall time of a finished run (training + evaluation), from the first to the last time stamp of its log."""
    stamps = [m.group(1) for line in (root / "log.txt").read_text().splitlines() if (m := _STAMP.match(line))]
    if not stamps:
        return float("nan")
    first, last = (time.mktime(time.strptime(t, "%Y-%m-%d %H:%M:%S")) for t in (stamps[0], stamps[-1]))
    return (last - first) / 60


def surface_reference(dataset: Path) -> dict[str, float]:
    """The six metrics of the phantom's noise-free surface against its ground truth, on the test split.

    Not a network: the true back surface (each sample regenerated from its curve file's seed and index),
    normalised over the valid pixels like the ground truth. It shows how much of the error any network must
    keep on this phantom, from the sensor's noise and from the noisy nearest / farthest pixels that set the
    ground truth's [0, 1] range, and hence how much room lies above a plateau.
    """
    from monai_gamanet.transforms import (
        NormalizeDepth,
        valid_depth_mask,
    )  # monai.transforms: slow import, used here only

    datalist = json.loads((dataset / "datalist.json").read_text())
    per_image = []
    for item in datalist["test"]:
        doc = json.loads((dataset / item["curve"]).read_text())
        size, origin = doc["image_size"], doc["generator"]
        sample = generate_sample(origin["index"], origin["seed"], size["height"], size["width"])
        depth = torch.from_numpy(sample.depth.astype("float32"))[None]
        valid = valid_depth_mask(depth)
        target = NormalizeDepth()(depth)
        surface = torch.from_numpy(sample.surface)[None]
        lo, hi = surface[valid].min(), surface[valid].max()
        pred = ((surface - lo) / (hi - lo)).clamp(0.0, 1.0)
        per_image.append(compute_depth_metrics(pred[None], target[None], valid[None].float()))
    return {m: statistics.fmean(r[m] for r in per_image) for m in DEPTH_METRICS}


def run_one(name: str, out: Path, dataset: Path, seed: int, args: argparse.Namespace) -> dict[str, float]:
    """Train and evaluate one variant with one seed (skipped when its metrics exist); returns its test metrics."""
    network, weights = RUNS[name]
    root = out / name
    metrics = root / "eval" / "metrics.json"
    if not metrics.is_file():
        common = {
            "bundle_root": str(root),
            "dataset_dir": str(dataset),
            "network_name": network,
            "spatial_size": [args.size[1], args.size[0]],  # (W, H) in MONAI's axis order
            "seed": seed,
            "batch_size": args.batch,
        }
        loss = {f"loss#{k}": v for k, v in weights.items()}
        _bundle(root, ["train.yaml"], {**common, **loss, "epochs": args.epochs})
        _bundle(root, ["train.yaml", "evaluate.yaml"], common)
        logger.info("%s: trained and evaluated in %.1f min", name, run_minutes(root))
    return json.loads(metrics.read_text())["metrics"]


def summarize(per_seed: dict[int, dict[str, dict[str, float]]]) -> tuple[dict, dict]:
    """Mean and (with two or more seeds) sample standard deviation over seeds, per run and metric."""
    runs = next(iter(per_seed.values()))
    mean, sd = {}, {}
    for name in runs:
        values = {m: [per_seed[s][name][m] for s in per_seed] for m in DEPTH_METRICS}
        mean[name] = {m: statistics.fmean(v) for m, v in values.items()}
        if len(per_seed) > 1:
            sd[name] = {m: statistics.stdev(v) for m, v in values.items()}
    return mean, sd


def best_rows(rows: dict[str, dict[str, float]]) -> str:
    """Which row wins each column (lowest error, highest accuracy), e.g. to check "GAMA-Net best on all six"."""
    best = {m: (max if HIGHER_IS_BETTER[m] else min)(rows, key=lambda name, m=m: rows[name][m]) for m in DEPTH_METRICS}
    return "Best per column: " + ", ".join(f"{HEADERS[m]}: {name}" for m, name in best.items()) + "."


def write_tables(
    out: Path,
    per_seed: dict[int, dict[str, dict[str, float]]],
    args: argparse.Namespace,
    minutes: float,
    reference: dict[int, dict[str, float]] | None = None,
) -> str:
    """Write ``tables.md`` and ``tables.json``; ``reference``: :func:`surface_reference` of each seed's phantom."""
    device = (
        torch.cuda.get_device_name()
        if torch.cuda.is_available()
        else f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)"
    )
    seeds = ", ".join(map(str, per_seed))
    mean, sd = summarize(per_seed)
    lines = [
        f"Budget: {args.epochs} epochs, batch {args.batch}, photos resized to {args.size[0]} x {args.size[1]} (H x W), "
        f"{args.samples} phantom samples per seed (split 8:1:1), Adam 1e-4; seed(s) {seeds}: within a seed every run "
        f"shares the phantom and the training seed; device: {device}; {minutes:.0f} min of training and evaluation "
        "summed over the runs. "
        "Metrics on the test split (eps 1e-3, per image then averaged)"
        + (f", then averaged over the {len(per_seed)} seeds." if len(per_seed) > 1 else "."),
    ]
    for title, rows in TABLES.items():
        present = {label: mean[run] for label, run in rows if run in mean}
        if not any(run in mean and run != "gamanet" for _, run in rows):
            continue  # none of this table's own runs was asked for: GAMA-Net alone would make no comparison
        lines += ["", f"**{title}**", "", metrics_markdown(present)]
        if len(present) > 1:
            lines += ["", best_rows(present)]
        spread = {label: sd[run] for label, run in rows if run in sd}
        if spread:
            lines += ["", f"Standard deviation over seeds {seeds}:", "", metrics_markdown(spread)]
    if reference:
        surface = {m: statistics.fmean(r[m] for r in reference.values()) for m in DEPTH_METRICS}
        lines += [
            "",
            "Reference, not a network: the phantom's noise-free surface scored against its ground truth on the same "
            "test photos, i.e. what a network that recovered the back's true shape exactly would score (what is "
            "left is the sensor's noise and the noisy pixels that set the [0, 1] range).",
            "",
            metrics_markdown({"True surface (noise-free)": surface}),
        ]
    text = "\n".join(lines) + "\n"
    (out / "tables.md").write_text(text)
    budget = vars(args) | {"out": str(args.out), "minutes": minutes, "device": device}
    (out / "tables.json").write_text(
        json.dumps(
            {"budget": budget, "results": mean, "sd": sd, "per_seed": per_seed, "surface_reference": reference},
            indent=1,
        )
    )
    return text


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m monai_gamanet.paper_tables", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/paper_tables"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, nargs=2, default=(240, 120), metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--samples", type=int, default=200, help="phantom samples per seed (generated at 480 x 240)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one phantom + training seed per repeat")
    parser.add_argument("--runs", nargs="*", default=list(RUNS), choices=list(RUNS))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    minutes = 0.0
    per_seed: dict[int, dict[str, dict[str, float]]] = {}
    reference: dict[int, dict[str, float]] = {}
    total, done = len(args.runs) * len(args.seeds), 0
    for seed in args.seeds:
        out = args.out / f"seed{seed}"
        dataset = out / "phantom"
        if not (dataset / "datalist.json").is_file():
            generate_dataset(dataset, args.samples, seed=seed, workers=2)
        cached = out / "surface_reference.json"
        if not cached.is_file():
            cached.write_text(json.dumps(surface_reference(dataset), indent=1))
        reference[seed] = json.loads(cached.read_text())
        per_seed[seed] = {}
        for name in args.runs:
            done += 1
            logger.info("run %s, seed %d (%d of %d)", name, seed, done, total)
            per_seed[seed][name] = run_one(name, out, dataset, seed, args)
            minutes += run_minutes(out / name)
    text = write_tables(args.out, per_seed, args, minutes, reference)
    logger.info("tables written to %s:\n%s", args.out / "tables.md", text)
    return text


if __name__ == "__main__":
    main()
