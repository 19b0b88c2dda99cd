"""The paper's Table 4 on the phantom: the curve U-Net on estimated depth only, RGB only and RGBD, plus Cobb angles.

    python -m experiments.curve_tables --out runs/table4 --depth-out runs/depth --seeds 0 1 \\
        --size 256 128 --epochs 60 --jobs 2

Each seed is one phantom (``--samples`` photos, generated with that seed into ``--out/seed<S>/phantom``) and one
depth model: ``--depth-bundle`` (one trained model for every seed, e.g. the reference depth model trained on a
phantom of another seed, so it never saw these photos), or else GAMA-Net trained by :mod:`experiments.paper_tables`
on that phantom, in ``--depth-out/seed<S>/gamanet`` (trained there first when missing, at ``--depth-size`` for
``--depth-epochs`` with ``--depth-settings``; a trained one is reused). Its estimate of every photo is cached once
(:func:`monai_gamanet.inference.depth_cache.cache_depth`, exactly as the curve bundle asks for it), then every run of
:data:`RUNS` is the ``spine_curve_segmentation`` bundle itself (``train.yaml``, then ``train.yaml`` +
``evaluate.yaml``) in ``--out/seed<S>/<run>``, ``--jobs`` at a time with one CPU thread each. Runs continue from
their ``last.pt`` when the command is given again or with more epochs.

Rows: estimated depth only, RGB only, RGBD (the paper's), and RGBD with the sensor's depth (an upper bound, not a
result: no photo-only method has it). ``rgbd_ce`` (RGBD trained with the paper's cross entropy alone) and
``rgbd_dicece`` (with Dice + cross entropy) are diagnostics of the loss, run only when named in ``--runs``.
``--settings bundle`` (default) trains and measures with the bundle's current defaults (Dice + cross entropy, the
centre line read from the probability); ``--settings recorded`` with those of the first recorded tables
(``docs/table4_cpu.md``: the paper's cross entropy, the 0.5 mask), so that they stay reproducible.

Writes ``<name>.md`` and ``<name>.json``: Table 4's five mask metrics and the morphology (Cobb MAE and r, severity
and curve-type accuracy, photos with no curve found) as the mean (and standard deviation) over seeds; paired
per-image differences between inputs (mean and standard error over every test photo of every seed); the issue's
goals, each said met or missed; every run's validation Dice curve with a plateau test; the budget and the machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from experiments import paper_tables as pt
from monai_gamanet.handlers.curve_report import CURVE_HEADERS, MORPHOLOGY_METRICS
from monai_gamanet.metrics.curve import CURVE_METRICS

__all__ = ["ROWS", "RUNS", "SETTINGS", "goals", "main", "paired_rows", "write_tables"]

logger = logging.getLogger("experiments.curve_tables")

BUNDLE = "spine_curve_segmentation"
# run name -> curve bundle overrides
RUNS: dict[str, dict[str, object]] = {
    "depth": {"inputs": "depth"},
    "rgb": {"inputs": "rgb"},
    "rgbd": {"inputs": "rgbd"},
    "rgbd_gt": {"inputs": "rgbd", "depth_source": "ground_truth"},
    "rgbd_ce": {"inputs": "rgbd", "dice_weight": 0.0},  # the paper's loss: a diagnostic
    "rgbd_dicece": {"inputs": "rgbd", "dice_weight": 1.0},  # a diagnostic of the loss under --settings recorded
}
# --settings: the bundle's current defaults, or those the first recorded tables (docs/table4_cpu.md) ran with
SETTINGS: dict[str, dict[str, object]] = {"bundle": {}, "recorded": {"dice_weight": 0.0, "curve_decoding": "mask"}}
SETTINGS_TEXT = {
    "bundle": "the bundle's defaults (Dice + cross entropy; centre line read from the curve probability)",
    "recorded": "the paper's two-class cross entropy, centre line from the 0.5 mask",
}
DEFAULT_RUNS = ["rgbd", "rgb", "depth", "rgbd_gt"]
ROWS = {
    "depth": "Estimated depth only",
    "rgb": "RGB only",
    "rgbd": "RGBD (RGB + estimated depth; the paper's)",
    "rgbd_gt": "RGBD, sensor depth (upper bound, not a result)",
    "rgbd_ce": "RGBD, the paper's CE loss alone (diagnostic)",
    "rgbd_dicece": "RGBD, Dice + CE loss (diagnostic)",
}
COLUMNS = [*CURVE_METRICS, *MORPHOLOGY_METRICS]
# paired per-image comparisons: (a, b) -> a - b; per image: Dice, IoU, |Cobb error| (both found), severity right
PAIRS = [
    ("rgbd", "rgb"),
    ("rgb", "depth"),
    ("rgbd", "depth"),
    ("rgbd_gt", "rgbd"),
    ("rgbd_dicece", "rgbd"),
    ("rgbd", "rgbd_ce"),
]
PAIRED = ("dice", "iou", "cobb_error", "severity_correct", "curve_type_correct")
# the quality issue's goals: Cobb MAE with estimated depth level with the best depth-sensor figure published (4.0 deg),
# with the sensor's depth 3.0 deg; severity accuracy 85 %; RGBD better than RGB beyond 2 standard errors (paired)
GOAL_COBB_MAE, GOAL_COBB_MAE_SENSOR, GOAL_SEVERITY, GOAL_SE = 4.0, 3.0, 0.85, 2.0
RADIOGRAPHIC_LIMITS_DEG = 7.2  # inter-observer 95 % limits of agreement of the radiographic Cobb angle


def paired_rows(metrics: dict) -> dict[str, dict[str, float]]:
    """A run's per-image rows keyed by the photo's label file name, with the values compared between inputs
    (:data:`PAIRED`)."""
    rows = {}
    for r in metrics.get("per_image", []):
        name = Path(r.get("label") or r["image"]).name  # the label: depth-only runs' "image" is the depth PNG
        row = {m: float(r[m]) for m in ("dice", "iou") if r.get(m) is not None}
        if "true_major_cobb_deg" in r:
            row["severity_correct"] = float(r.get("severity") == r["true_severity"])
            row["curve_type_correct"] = float(r.get("curve_type") == r["true_curve_type"])
            if "major_cobb_deg" in r:
                row["cobb_error"] = abs(r["major_cobb_deg"] - r["true_major_cobb_deg"])
        rows[name] = row
    return rows


def _values(metrics: dict) -> dict[str, float]:
    return {m: math.nan if v is None else float(v) for m, v in metrics["metrics"].items()}


def _said(ok: bool) -> str:
    return "met" if ok else "MISSED"


def goals(mean: dict[str, dict[str, float]], paired: dict[tuple[str, str], dict]) -> list[str]:
    """The quality issue's goals on the test split, each said met or missed with its figures."""
    lines = []
    versus = paired.get(("rgbd", "rgb"), {})
    for metric, better in (("dice", 1.0), ("cobb_error", -1.0)):
        if metric in versus:
            diff, se, n = versus[metric]
            lines.append(
                f"RGBD (estimated depth) better than RGB on {'Dice' if metric == 'dice' else 'Cobb error'}, paired, "
                f"beyond {GOAL_SE:g} SE: {_said(better * diff > GOAL_SE * se)} "
                f"({diff:+.3f} ± {se:.3f} over {n} photos)."
            )
    for run, goal in (("rgbd", GOAL_COBB_MAE), ("rgbd_gt", GOAL_COBB_MAE_SENSOR)):
        if run in mean:
            mae = mean[run].get("cobb_mae", math.nan)
            lines.append(f"Cobb MAE <= {goal:g} deg with {ROWS[run]}: {_said(mae <= goal)} ({mae:.2f}).")
    if "rgbd" in mean:
        sev = mean["rgbd"].get("severity_accuracy", math.nan)
        lines.append(f"Severity accuracy >= {GOAL_SEVERITY:.0%} with RGBD: {_said(sev >= GOAL_SEVERITY)} ({sev:.1%}).")
    return lines


def bland_altman(runs: list[dict]) -> tuple[float, float, float, int]:
    """Bias (mean of predicted - true major Cobb angle) and its 95 % limits of agreement (bias ± 1.96 SD) over the
    photos of ``runs`` (one ``metrics.json`` per seed) where a curve was found; (nan, nan, nan, n) below 2 photos."""
    diffs = [
        r["major_cobb_deg"] - r["true_major_cobb_deg"]
        for metrics in runs
        for r in metrics.get("per_image", [])
        if "major_cobb_deg" in r and "true_major_cobb_deg" in r
    ]
    if len(diffs) < 2:
        return math.nan, math.nan, math.nan, len(diffs)
    bias, sd = statistics.fmean(diffs), statistics.stdev(diffs)
    return bias, bias - 1.96 * sd, bias + 1.96 * sd, len(diffs)


def _cell(mean: dict, sd: dict, name: str, m: str) -> str:
    v = mean[name].get(m, math.nan)
    if v != v:
        return "-"
    digits = 0 if m == "no_curve_found" else 2 if m == "cobb_mae" else 3
    spread = sd.get(name, {}).get(m)
    return f"{v:.{digits}f}" + (f" ± {spread:.{digits}f}" if spread is not None and spread == spread else "")


def write_tables(out: Path, results: dict[int, dict[str, dict]], args: argparse.Namespace, minutes: float) -> str:
    """Write ``<name>.md`` / ``<name>.json`` from ``results`` (seed -> run -> the run's ``eval/metrics.json``)."""
    per_seed = {s: {n: _values(m) for n, m in runs.items()} for s, runs in results.items()}
    mean, sd = pt.summarize(per_seed, COLUMNS)
    names = [n for n in RUNS if n in mean]
    seeds = sorted(results)
    lines = [
        f"# Table 4 on the phantom ({len(seeds)} seed{'s' * (len(seeds) > 1)}: {', '.join(map(str, seeds))})",
        "",
        "Mean over seeds" + (" ± standard deviation" if len(seeds) > 1 else "") + "; the five mask metrics of the "
        "curve class (MONAI's handlers), then the morphology of each predicted mask against the phantom's truth "
        "(Cobb MAE and r over photos where a curve was found; severity and curve type count 'no curve' as wrong; "
        "'No curve found' is summed over seeds).",
        "",
        "| Input | " + " | ".join(CURVE_HEADERS[c] for c in COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    for n in names:
        cells = [
            _cell(mean, sd, n, c)
            if c != "no_curve_found"
            else f"{sum(per_seed[s][n].get(c, 0) for s in seeds if n in per_seed[s]):.0f}"
            for c in COLUMNS
        ]
        lines.append(f"| {ROWS[n]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Paper (Table 4, RGBD): IoU 0.810, accuracy 0.970, Dice 0.894, sensitivity 0.941, specificity 0.974.",
        "",
    ]
    paired = {}
    for a, b in PAIRS:
        both = [s for s in seeds if a in results[s] and b in results[s]]
        if both:
            paired[(a, b)] = pt.paired_differences(
                [paired_rows(results[s][a]) for s in both], [paired_rows(results[s][b]) for s in both], PAIRED
            )
    if paired:
        lines += [
            "## Paired per-image differences (a - b: mean ± standard error over the test photos of every seed)",
            "",
            "Cobb error: |predicted - true| over photos where both runs found a curve (negative: a is closer); "
            "severity / curve type right: fraction of photos (positive: a is right more often).",
            "",
            "| a - b | Dice | IoU | Cobb error (deg) | Severity right | Curve type right | photos |",
            "|---|---|---|---|---|---|---|",
        ]
        for (a, b), d in paired.items():
            cells = [f"{d[m][0]:+.3f} ± {d[m][1]:.3f}" if m in d else "-" for m in PAIRED]
            count = max((d[m][2] for m in d), default=0)
            lines.append(f"| {a} - {b} | " + " | ".join(cells) + f" | {count} |")
        lines.append("")
    lines += [
        "## Agreement with the true Cobb angle (Bland-Altman, every found curve of every seed)",
        "",
        f"Radiographs: inter-observer 95 % limits of agreement about ±{RADIOGRAPHIC_LIMITS_DEG:g} deg.",
        "",
        "| Input | bias (deg) | 95 % limits (deg) | photos |",
        "|---|---|---|---|",
    ]
    agreement = {}
    for n in names:
        bias, lo, hi, count = bland_altman([results[s][n] for s in seeds if n in results[s]])
        agreement[n] = {"bias": bias, "lower": lo, "upper": hi, "photos": count}
        lines.append(f"| {ROWS[n]} | {bias:+.2f} | {lo:+.2f} to {hi:+.2f} | {count} |")
    lines += ["", "## Goals", "", *[f"- {g}" for g in goals(mean, paired)], ""]
    lines += ["## Validation Dice per epoch (plateau: mean of the last third minus the middle third)", ""]
    lines += ["| run | seed | plateau | last | every 10th epoch |", "|---|---|---|---|---|"]
    for n in names:
        for s in seeds:
            curve = pt.validation_curve(args.out / f"seed{s}" / n, "dice")
            if curve:
                shown = " ".join(f"{v:.3f}" for v in curve[9::10])
                lines.append(f"| {n} | {s} | {pt.plateau(curve):+.4f} | {curve[-1]:.4f} | {shown} |")
    size = f"{args.size[0]} x {args.size[1]}"
    lines += [
        "",
        "## Budget and machine",
        "",
        f"- Curve U-Net: {args.epochs} epochs at {size} (H x W), batch {args.batch}, "
        + SETTINGS_TEXT[getattr(args, "settings", "bundle")]
        + " (MONAI UNet, flips + Gaussian noise, Adam 1e-4); best-validation-Dice model.",
        f"- Phantom: {args.samples} samples per seed, split 8:1:1; depth model: "
        + (
            f"`{args.depth_bundle}` for every seed (settings {args.depth_overrides})."
            if getattr(args, "depth_bundle", None) is not None
            else f"GAMA-Net from `{args.depth_out}/seed<S>/gamanet` ({args.depth_epochs} epochs at "
            f"{args.depth_size[0]} x {args.depth_size[1]}, {pt.SETTINGS_TEXT[args.depth_settings]})."
        ),
        f"- {minutes:.0f} min of run time in all on {pt.machine_name()}, {args.jobs} run(s) at a time.",
    ]
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.md").write_text(text)
    doc = {
        "mean": mean,
        "sd": sd,
        "per_seed": per_seed,
        "paired": {f"{a} - {b}": d for (a, b), d in paired.items()},
        "goals": goals(mean, paired),
        "bland_altman": agreement,
        "budget": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "minutes": minutes,
        "device": pt.machine_name(),
    }
    clean = json.loads(json.dumps(doc), parse_constant=lambda c: None)  # NaN -> null: strict JSON
    (args.out / f"{args.name}.json").write_text(json.dumps(clean, indent=1, allow_nan=False))
    return text


def prepare_seed(seed: int, args: argparse.Namespace) -> dict[str, object]:
    """The seed's phantom, its trained depth model and the cached depth: the overrides every curve run shares."""
    from monai_gamanet.data import prepare_dataset
    from monai_gamanet.inference.depth_cache import cache_depth

    dataset = pt.prepare_phantom(args.out / f"seed{seed}", seed, args.samples, args.workers)
    shared = {
        "dataset_dir": str(dataset),
        "spatial_size": [args.size[1], args.size[0]],  # (W, H) in MONAI's axis order
        "seed": seed,
        "batch_size": args.batch,
        "num_workers": 2,
    }
    if getattr(args, "depth_bundle", None) is not None:  # one trained depth model for every seed's photos
        shared["depth_bundle_root"] = str(args.depth_bundle)
        shared["depth_overrides"] = json.loads(args.depth_overrides)
    else:
        depth_args = argparse.Namespace(
            epochs=args.depth_epochs,
            size=args.depth_size,
            batch=16,
            jobs=args.jobs,
            threads=args.threads,
            settings=args.depth_settings,
        )
        pt.run_one("gamanet", args.depth_out / f"seed{seed}", dataset, seed, depth_args)
        shared["depth_bundle_root"] = str(args.depth_out / f"seed{seed}" / "gamanet")
        shared["depth_overrides"] = {
            "spatial_size": [args.depth_size[1], args.depth_size[0]],
            **pt.run_overrides("gamanet", depth_args),
        }
    # once, before the runs that share it (as the bundle asks: same arguments, same cache folder)
    datalist = prepare_dataset(dataset)
    sources = {RUNS[n].get("depth_source", "estimated") for n in args.runs if RUNS[n]["inputs"] != "rgb"}
    for source in sorted(sources):
        cache_depth(
            datalist, dataset / "depth_cache", source, shared["depth_bundle_root"], overrides=shared["depth_overrides"]
        )
    return shared


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m experiments.curve_tables", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/table4"))
    parser.add_argument(
        "--depth-out", type=Path, default=Path("runs/depth"), help="paper_tables' --out of the depth runs"
    )
    parser.add_argument(
        "--depth-bundle",
        type=Path,
        default=None,
        help="a trained depth bundle folder used for every seed (e.g. the reference depth model; it must not have "
        "seen these phantoms' photos) instead of training one per seed",
    )
    parser.add_argument("--depth-overrides", default="{}", help="--depth-bundle's settings, as JSON")
    parser.add_argument("--depth-epochs", type=int, default=15)
    parser.add_argument("--depth-size", type=int, nargs=2, default=(240, 120), metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--depth-settings", choices=list(pt.SETTINGS), default="recorded")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, nargs=2, default=(256, 128), metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--samples", type=int, default=400, help="phantom samples per seed (generated at 480 x 240)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--runs", nargs="*", default=DEFAULT_RUNS, choices=list(RUNS))
    parser.add_argument("--jobs", type=int, default=1, help="runs at once, one CPU thread each when more than one")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per run (default: see --jobs)")
    parser.add_argument("--workers", type=int, default=2, help="processes generating each phantom")
    parser.add_argument("--name", default="table4", help="file stem of the tables written to --out")
    parser.add_argument(
        "--settings",
        choices=list(SETTINGS),
        default="bundle",
        help="bundle: the curve bundle's defaults; recorded: those of docs/table4_cpu.md (CE loss, 0.5 mask)",
    )
    parser.add_argument("--tables-only", action="store_true", help="train nothing: tables from the saved runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    todo = [(s, n) for s in args.seeds for n in args.runs]
    results: dict[int, dict[str, dict]] = {s: {} for s in args.seeds}
    if args.tables_only:
        for s, n in todo:
            path = args.out / f"seed{s}" / n / "eval" / "metrics.json"
            if path.is_file():
                results[s][n] = json.loads(path.read_text())
            else:
                logger.warning("%s (seed %d): no %s, left out", n, s, path)
    else:
        shared = {s: prepare_seed(s, args) for s in args.seeds}
        threads = pt.run_threads(args)

        def work(job: tuple[int, str]) -> dict | None:
            s, n = job
            overrides = {
                "bundle_root": str(args.out / f"seed{s}" / n),
                **shared[s],
                **SETTINGS[args.settings],
                **RUNS[n],
            }
            try:
                return pt.train_and_evaluate(BUNDLE, overrides, args.epochs, threads, f"{n} (seed {s})")
            except RuntimeError as e:  # one failed run must not cost the others' tables
                logger.error("%s (seed %d) failed and is left out of the tables: %s", n, s, e)
                return None

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for (s, n), metrics in zip(todo, pool.map(work, todo), strict=True):
                if metrics is not None:
                    results[s][n] = metrics
    minutes = sum(pt.run_minutes(args.out / f"seed{s}" / n) for s, n in todo)
    text = write_tables(args.out, results, args, minutes)
    logger.info("tables written to %s:\n%s", args.out / f"{args.name}.md", text)
    return text


if __name__ == "__main__":
    main()
