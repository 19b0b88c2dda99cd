"""The experiments' tables, written from their runs' results: ``<name>.md`` and ``<name>.json`` in the spec's ``out``.

* :func:`write_depth_tables` (:mod:`experiments.paper_tables`): Tables 1-3 and the depth diagnostics in the paper's
  format plus aligned columns, the budget, the machine, the best row of each column, standard deviations over seeds,
  paired per-image differences, the reference rows and each run's recovered fraction, each run's validation curve
  with its plateau test and the generalisation gap;
* :func:`write_curve_tables` (:mod:`experiments.curve_tables`): Table 4's mask metrics and the morphology, paired
  per-image differences between inputs, the Bland-Altman agreement with the true Cobb angle, the issue's goals said
  met or missed, the validation curves of the key metric (line agreement), the budget and the machine;

and the statistics they report (:func:`summarize`, :func:`paired_differences`, :func:`plateau`,
:func:`recovered_fraction`, :func:`bland_altman`). Whatever depends on the runners' run tables (e.g. each run's
reference target) is passed in: this module imports neither runner.
"""

from __future__ import annotations

import json
import math
import platform
import statistics
from collections.abc import Mapping
from pathlib import Path

import torch

from experiments.spec import HELD_OUT_SEED_OFFSET, CurveRunSpec, DepthRunSpec
from monai_gamanet.handlers.curve_report import CURVE_HEADERS, REPORT_METRICS
from monai_gamanet.handlers.report import ALIGNED, ALIGNED_COLUMNS, header, metrics_markdown
from monai_gamanet.metrics.depth import DEPTH_METRICS, HIGHER_IS_BETTER

__all__ = [
    "CURVE_COLUMNS",
    "CURVE_PAIRED",
    "CURVE_PAIRS",
    "CURVE_ROWS",
    "DEPTH_COLUMNS",
    "DEPTH_PAIRED",
    "DEPTH_TABLES",
    "REFERENCE_LABELS",
    "best_rows",
    "bland_altman",
    "goals",
    "machine_name",
    "paired_differences",
    "paired_rows",
    "per_image",
    "plateau",
    "recovered_fraction",
    "recovered_fraction_lines",
    "summarize",
    "write_curve_tables",
    "write_depth_tables",
]

# --- the depth tables (experiments.paper_tables) ---

# table -> [(row label, run name)]; the last row of each is the one the others are compared with
DEPTH_TABLES: dict[str, list[tuple[str, str]]] = {
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
    "Depth target and output head (GAMA-Net)": [
        ("min-max target, clamp head", "target_minmax"),
        ("scale-and-shift-invariant loss, raw head", "target_ssi"),
        ("1-99 % target, sigmoid head", "head_sigmoid"),
        ("1-99 % target, clamp head (the tables' run)", "gamanet"),
    ],
    "Precision (GAMA-Net)": [("float32", "precision_fp32"), ("bf16 autocast (default)", "gamanet")],
    "Learning rate (GAMA-Net; a diagnostic of the budget)": [
        ("Adam 1e-3", "lr_1e-3"),
        ("Adam 1e-4 (the paper's)", "gamanet"),
    ],
    "Learning-rate schedule (GAMA-Net)": [
        ("warm-up + cosine from a 1e-3 peak", "lr_cosine_1e-3"),
        ("Adam 1e-4 constant (the paper's)", "gamanet"),
    ],
}
DEPTH_COLUMNS = [*DEPTH_METRICS, *(ALIGNED + m for m in DEPTH_METRICS)]
REFERENCE_LABELS = {"surface": "True surface (noise-free)", "photo_blind": "Mean training map (photo-blind)"}
DEPTH_PAIRED = ("delta1", "abs_rel", ALIGNED + "delta1", ALIGNED + "abs_rel")

# --- the curve tables (experiments.curve_tables) ---

CURVE_ROWS = {  # run -> row label, in the tables' order
    "depth": "Estimated depth only",
    "rgb": "RGB only",
    "rgbd": "RGBD (RGB + estimated depth; the paper's)",
    "rgbd_gt": "RGBD, sensor depth (upper bound, not a result)",
    "rgbd_ce": "RGBD, the paper's CE loss alone (diagnostic)",
    "rgbd_dicece": "RGBD, Dice + CE loss (diagnostic)",
}
CURVE_COLUMNS = list(REPORT_METRICS)  # Table 4's five, the morphology, the threshold-free line agreement
# paired per-image comparisons: (a, b) -> a - b; per image: Dice, IoU, |Cobb error| (both found), severity right
CURVE_PAIRS = [
    ("rgbd", "rgb"),
    ("rgb", "depth"),
    ("rgbd", "depth"),
    ("rgbd_gt", "rgbd"),
    ("rgbd_gt", "rgb"),
    ("rgbd_dicece", "rgbd"),
    ("rgbd", "rgbd_ce"),
]
CURVE_PAIRED = ("dice", "iou", "line_agreement", "cobb_error", "severity_correct", "curve_type_correct")
# the quality issue's goals: Cobb MAE with estimated depth level with the best depth-sensor figure published (4.0 deg),
# with the sensor's depth 3.0 deg; severity accuracy 85 %; RGBD better than RGB beyond 2 standard errors (paired)
GOAL_COBB_MAE, GOAL_COBB_MAE_SENSOR, GOAL_SEVERITY, GOAL_SE = 4.0, 3.0, 0.85, 2.0
RADIOGRAPHIC_LIMITS_DEG = 7.2  # inter-observer 95 % limits of agreement of the radiographic Cobb angle


# --- statistics ---


def summarize(
    per_seed: dict[int, dict[str, dict[str, float]]], metrics: list[str] | tuple[str, ...] | None = None
) -> tuple[dict, dict]:
    """Mean and (with two or more seeds) sample standard deviation over seeds, per run and metric (default
    :data:`DEPTH_COLUMNS`)."""
    names = {name for runs in per_seed.values() for name in runs}
    mean, sd = {}, {}
    for name in names:
        seeds = [s for s in per_seed if name in per_seed[s]]
        columns = [m for m in (metrics or DEPTH_COLUMNS) if all(m in per_seed[s][name] for s in seeds)]
        values = {m: [per_seed[s][name][m] for s in seeds] for m in columns}
        mean[name] = {m: statistics.fmean(v) for m, v in values.items()}
        if len(seeds) > 1:
            sd[name] = {m: statistics.stdev(v) if all(map(math.isfinite, v)) else math.nan for m, v in values.items()}
    return mean, sd


def paired_differences(
    a: list[dict[str, dict]], b: list[dict[str, dict]], metrics: tuple[str, ...] = DEPTH_PAIRED
) -> dict[str, tuple[float, float, int]]:
    """Per-image differences ``a - b`` over the photos both runs scored, one dict of per-image rows per seed.

    Returns, per metric of ``metrics`` (default :data:`DEPTH_PAIRED`), (mean difference, its standard error, number of
    photos).
    """
    out = {}
    for m in metrics:
        diffs = [
            ra[img][m] - rb[img][m]
            for ra, rb in zip(a, b, strict=True)
            for img in ra
            if img in rb and m in ra[img] and m in rb[img] and math.isfinite(ra[img][m] - rb[img][m])
        ]
        if len(diffs) > 1:
            out[m] = (statistics.fmean(diffs), statistics.stdev(diffs) / math.sqrt(len(diffs)), len(diffs))
    return out


def plateau(curve: list[float]) -> float:
    """Mean validation metric over the last third of the epochs minus the mean over the middle third.

    Near 0 (or negative): the run has stopped improving; clearly positive: it was still learning.
    """
    n = len(curve) // 3
    if n == 0:
        return float("nan")
    return statistics.fmean(curve[-n:]) - statistics.fmean(curve[-2 * n : -n])


def recovered_fraction(network: float, surface: float, blind: float) -> float:
    """(network - photo-blind) / (surface - photo-blind): the share of what the photo can give that a network
    recovered (0: no better than ignoring the photo; 1: as good as the noise-free surface)."""
    room = surface - blind
    return (network - blind) / room if room > 0 else math.nan


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


def machine_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)"


# --- the depth tables ---


def per_image(metrics: dict) -> dict[str, dict[str, float]]:
    """An evaluation's per-image rows keyed by photo file name (the key that pairs two runs' rows)."""
    return {Path(r["image"]).name: r for r in metrics.get("per_image", [])}


def best_rows(rows: dict[str, dict[str, float]], columns: list[str] | None = None) -> str:
    """Which row wins each column (lowest error, highest accuracy), e.g. to check "GAMA-Net best on all six"."""
    shown = [*DEPTH_METRICS, *ALIGNED_COLUMNS]
    columns = columns or [m for m in shown if all(m in r for r in rows.values())]
    higher = lambda m: HIGHER_IS_BETTER[m[len(ALIGNED) :] if m.startswith(ALIGNED) else m]  # noqa: E731
    best = {m: (max if higher(m) else min)(rows, key=lambda name, m=m: rows[name][m]) for m in columns}
    return "Best per column: " + ", ".join(f"{header(m)}: {name}" for m, name in best.items()) + "."


def recovered_fraction_lines(
    results: dict[int, dict[str, dict]],
    reference: dict[int, dict[str, dict[str, dict[str, float]]]],
    targets: Mapping[str, str],
) -> list[str]:
    """A markdown table: per run, test δ<1.25 raw and aligned, the references of its target (``targets``: run ->
    its reference target) and the recovered fraction, the mean over the seeds that have both a run and references."""
    lines = [
        "Recovered fraction, per run: (network - photo-blind) / (noise-free surface - photo-blind) on the same test "
        "photos and target, raw and aligned δ<1.25 (mean over seeds); the goal of the reference depth model is "
        "δ<1.25 >= 0.9 x the surface's and a recovered fraction >= 0.6.",
        "",
        "| Run | target | δ<1.25 | surface | photo-blind | of surface | recovered | δ<1.25 aligned | surface aligned "
        "| photo-blind aligned | recovered aligned |",
        "|---" * 11 + "|",
    ]
    names = sorted({n for runs in results.values() for n in runs})
    for name in names:
        seeds = [s for s in results if name in results[s] and s in reference]
        if not seeds:
            continue
        target = targets[name]
        cells = []
        for key in ("delta1", ALIGNED + "delta1"):
            net = statistics.fmean(
                results[s][name]["metrics_aligned" if key != "delta1" else "metrics"][key] for s in seeds
            )
            surface = statistics.fmean(reference[s][target]["surface"][key] for s in seeds)
            blind = statistics.fmean(reference[s][target]["photo_blind"][key] for s in seeds)
            cells.append((net, surface, blind, recovered_fraction(net, surface, blind)))
        (net, surface, blind, rec), (net_a, surface_a, blind_a, rec_a) = cells
        lines.append(
            f"| {name} | {target} | {net:.4f} | {surface:.4f} | {blind:.4f} | {net / surface:.2f} x | {rec:.1%} "
            f"| {net_a:.4f} | {surface_a:.4f} | {blind_a:.4f} | {rec_a:.1%} |"
        )
    return lines


def write_depth_tables(
    spec: DepthRunSpec,
    results: dict[int, dict[str, dict]],
    *,
    settings_text: str,
    targets: Mapping[str, str] | None = None,
    reference: dict[int, dict[str, dict[str, float]]] | None = None,
    curves: dict[str, list[list[float]]] | None = None,
    minutes: float = float("nan"),
    gaps: dict[str, list[dict]] | None = None,
) -> str:
    """Write ``<spec.name>.md`` and ``<spec.name>.json`` into ``spec.out``; returns the markdown.

    Args:
        results: seed -> run -> the run's ``metrics.json`` (``metrics``, ``metrics_aligned``, ``per_image``).
        settings_text: what ``spec.settings`` trains with, in words (the budget's line).
        targets: run -> the reference target it is scored against (a key of each seed's ``reference``); needed with
            ``reference``.
        reference: seed -> target normalisation -> :func:`experiments.paper_tables.reference_rows`.
        curves: run -> the validation delta1 curve of each seed.
        minutes: training and evaluation time summed over the runs.
        gaps: run -> :func:`experiments.paper_tables.generalisation_gap` of each seed.
    """
    per_seed = {
        s: {n: {**r.get("metrics", {}), **r.get("metrics_aligned", {})} for n, r in runs.items()}
        for s, runs in results.items()
    }
    seeds = ", ".join(map(str, per_seed))
    mean, sd = summarize(per_seed)
    device = spec.device_name or machine_name()
    lines = [
        f"Budget: {spec.epochs} epochs, batch {spec.batch}, photos resized to {spec.size[0]} x {spec.size[1]} (H x W), "
        f"{spec.samples} phantom samples per seed (split 8:1:1), Adam 1e-4 unless a row says otherwise, "
        + settings_text
        + f"; seed(s) {seeds}: within a seed every run "
        f"shares the phantom and the training seed; device: {device}; {minutes:.0f} min of training and "
        "evaluation summed over the runs. Metrics on the test split (eps 1e-3, per image then averaged"
        + (f", then averaged over the {len(per_seed)} seeds)" if len(per_seed) > 1 else ")")
        + "; 'aligned': after the per-image least-squares scale-and-shift fit.",
    ]
    for title, rows in DEPTH_TABLES.items():
        present = {label: mean[run] for label, run in rows if run in mean}
        if len(present) < 2:
            continue  # one row compares with nothing
        lines += ["", f"**{title}**", "", metrics_markdown(present), "", best_rows(present)]
        spread = {label: sd[run] for label, run in rows if run in sd}
        if spread:
            lines += ["", f"Standard deviation over seeds {seeds}:", "", metrics_markdown(spread)]
        label_ref, ref = rows[-1]
        paired = []
        for label, run in rows[:-1]:
            both = [s for s in results if run in results[s] and ref in results[s]]
            if not both:
                continue
            diff = paired_differences(
                [per_image(results[s][ref]) for s in both], [per_image(results[s][run]) for s in both]
            )
            cells = [f"{d[0]:+.4f} ± {d[1]:.4f}" if (d := diff.get(m)) else "-" for m in DEPTH_PAIRED]
            n = max((d[2] for d in diff.values()), default=0)
            paired.append(f"| {label} | {n} | " + " | ".join(cells) + " |")
        if paired:
            lines += [
                "",
                f"Paired per-image differences, {label_ref} minus each row (mean ± standard error over the test "
                "photos of every seed; positive is better for δ, negative for Abs Rel):",
                "",
                "| Row | photos | " + " | ".join(header(m) for m in DEPTH_PAIRED) + " |",
                "|---" * (len(DEPTH_PAIRED) + 2) + "|",
                *paired,
            ]
    if reference:
        rows = {}
        for kind, label in REFERENCE_LABELS.items():
            for target in next(iter(reference.values())):
                rows[f"{label}, {target}"] = {
                    m: statistics.fmean(reference[s][target][kind][m] for s in reference) for m in DEPTH_COLUMNS
                }
        lines += [
            "",
            f"References, not networks, on the same test photos at the same size ({spec.size[0]} x {spec.size[1]}), "
            "under each target normalisation: the phantom's noise-free surface (what a network that recovered the "
            "back's true shape exactly would score) and the mean training depth map, the same for every photo (what "
            "a network that ignored the photo would score).",
            "",
            metrics_markdown(rows),
        ]
    if reference:
        lines += ["", *recovered_fraction_lines(results, reference, targets or {})]
    if curves:
        lines += [
            "",
            "Validation δ<1.25 per epoch (seed by seed) and its plateau test: mean over the last third of the epochs "
            "minus the mean over the middle third (near 0: stopped rising).",
            "",
            "| Run | last-third minus middle-third | last value | curve |",
            "|---|---|---|---|",
        ]
        for run, per in curves.items():
            for curve in per:
                if curve:
                    shown = " ".join(f"{v:.3f}" for v in curve)
                    lines.append(f"| {run} | {plateau(curve):+.4f} | {curve[-1]:.4f} | {shown} |")
    if gaps:
        lines += [
            "",
            "Generalisation: mean absolute error (valid pixels, relative depth) and δ<1.25 of the selected model on 60 "
            "training photos and 60 test photos (fewer where the split is smaller), seed by seed.",
            "",
            "| Run | training abs. error | test abs. error | training δ<1.25 | test δ<1.25 |",
            "|---|---|---|---|---|",
        ]
        for run, per in gaps.items():
            for g in per:
                cells = [g[split][key] for key in ("abs_error", "delta1") for split in ("training", "test")]
                lines.append(f"| {run} | " + " | ".join(f"{v:.4f}" for v in cells) + " |")
        bins = [b["bin"] for b in next(iter(gaps.values()))[0]["test"]["by_depth"]]
        lines += [
            "",
            "Test photos by ground-truth depth (0 = nearest): share of the scored pixels, then per run (mean of the "
            "seeds) signed error / absolute error / δ<1.25 in each bin.",
            "",
            "| Run | " + " | ".join(bins) + " |",
            "|---" * (len(bins) + 1) + "|",
        ]
        first = next(iter(gaps.values()))
        share = [statistics.fmean(g["test"]["by_depth"][i]["pixels"] for g in first) for i in range(len(bins))]
        lines.append("| pixels | " + " | ".join(f"{v:.1%}" for v in share) + " |")
        for run, per in gaps.items():
            cells = []
            for i in range(len(bins)):
                binned = {  # not `mean`: that name holds the runs' results written below
                    k: statistics.fmean(g["test"]["by_depth"][i][k] for g in per)
                    for k in ("signed_error", "abs_error", "delta1")
                }
                cells.append(f"{binned['signed_error']:+.3f} / {binned['abs_error']:.3f} / {binned['delta1']:.2f}")
            lines.append(f"| {run} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    (spec.out / f"{spec.name}.md").write_text(text)
    budget = spec.budget() | {"minutes": minutes, "device": device}
    summary = {"budget": budget, "results": mean, "sd": sd, "per_seed": per_seed}
    details = {**summary, "references": reference, "curves": curves, "generalisation": gaps}
    (spec.out / f"{spec.name}.json").write_text(json.dumps(details, indent=1))
    return text


# --- the curve tables ---


def paired_rows(metrics: dict) -> dict[str, dict[str, float]]:
    """A run's per-image rows keyed by the photo's label file name, with the values compared between inputs
    (:data:`CURVE_PAIRED`)."""
    rows = {}
    for r in metrics.get("per_image", []):
        name = Path(r.get("label") or r["image"]).name  # the label: depth-only runs' "image" is the depth PNG
        row = {m: float(r[m]) for m in ("dice", "iou", "line_agreement") if r.get(m) is not None}
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
    said = {"dice": "Dice", "line_agreement": "line agreement (threshold-free)", "cobb_error": "Cobb error"}
    for metric, better in (("dice", 1.0), ("line_agreement", 1.0), ("cobb_error", -1.0)):
        if metric in versus:
            diff, se, n = versus[metric]
            lines.append(
                f"RGBD (estimated depth) better than RGB on {said[metric]}, paired, "
                f"beyond {GOAL_SE:g} SE: {_said(better * diff > GOAL_SE * se)} "
                f"({diff:+.3f} ± {se:.3f} over {n} photos)."
            )
    for run, goal in (("rgbd", GOAL_COBB_MAE), ("rgbd_gt", GOAL_COBB_MAE_SENSOR)):
        if run in mean:
            mae = mean[run].get("cobb_mae", math.nan)
            lines.append(f"Cobb MAE <= {goal:g} deg with {CURVE_ROWS[run]}: {_said(mae <= goal)} ({mae:.2f}).")
    if "rgbd" in mean:
        sev = mean["rgbd"].get("severity_accuracy", math.nan)
        lines.append(f"Severity accuracy >= {GOAL_SEVERITY:.0%} with RGBD: {_said(sev >= GOAL_SEVERITY)} ({sev:.1%}).")
    return lines


def _cell(mean: dict, sd: dict, name: str, m: str) -> str:
    v = mean[name].get(m, math.nan)
    if v != v:
        return "-"
    digits = 0 if m == "no_curve_found" else 2 if m == "cobb_mae" else 3
    spread = sd.get(name, {}).get(m)
    return f"{v:.{digits}f}" + (f" ± {spread:.{digits}f}" if spread is not None and spread == spread else "")


def write_curve_tables(
    spec: CurveRunSpec,
    results: dict[int, dict[str, dict]],
    minutes: float,
    *,
    settings_text: str,
    depth_settings_text: str,
    curves: dict[str, list[list[float]]] | None = None,
    depth_model: bool = True,
) -> str:
    """Write ``<spec.name>.md`` / ``<spec.name>.json`` into ``spec.out``; returns the markdown.

    Args:
        results: seed -> run -> the run's ``eval/metrics.json``.
        minutes: run time summed over the runs.
        settings_text: what ``spec.settings`` trains and measures with, in words.
        depth_settings_text: what ``spec.depth_settings`` trains the depth model with, in words (shown without
            ``spec.depth_bundle``).
        curves: run -> the validation line agreement curve (the curve bundle's key metric) of each seed of
            ``spec.seeds``.
        depth_model: whether a row uses estimated depth (else the budget says no depth model was used).
    """
    per_seed = {s: {n: _values(m) for n, m in runs.items()} for s, runs in results.items()}
    mean, sd = summarize(per_seed, CURVE_COLUMNS)
    names = [n for n in CURVE_ROWS if n in mean]
    seeds = sorted(results)
    lines = [
        f"# Table 4 on the phantom ({len(seeds)} seed{'s' * (len(seeds) > 1)}: {', '.join(map(str, seeds))})",
        "",
        "Mean over seeds" + (" ± standard deviation" if len(seeds) > 1 else "") + "; the five mask metrics of the "
        "curve class (MONAI's handlers), then the morphology of each predicted mask against the phantom's truth "
        "(Cobb MAE and r over photos where a curve was found; severity and curve type count 'no curve' as wrong; "
        "'No curve found' is summed over seeds).",
        "",
        "| Input | " + " | ".join(CURVE_HEADERS[c] for c in CURVE_COLUMNS) + " |",
        "|---" * (len(CURVE_COLUMNS) + 1) + "|",
    ]
    for n in names:
        cells = [
            _cell(mean, sd, n, c)
            if c != "no_curve_found"
            else f"{sum(per_seed[s][n].get(c, 0) for s in seeds if n in per_seed[s]):.0f}"
            for c in CURVE_COLUMNS
        ]
        lines.append(f"| {CURVE_ROWS[n]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Paper (Table 4, RGBD): IoU 0.810, accuracy 0.970, Dice 0.894, sensitivity 0.941, specificity 0.974.",
        "",
    ]
    paired = {}
    for a, b in CURVE_PAIRS:
        both = [s for s in seeds if a in results[s] and b in results[s]]
        if both:
            paired[(a, b)] = paired_differences(
                [paired_rows(results[s][a]) for s in both], [paired_rows(results[s][b]) for s in both], CURVE_PAIRED
            )
    if paired:
        lines += [
            "## Paired per-image differences (a - b: mean ± standard error over the test photos of every seed)",
            "",
            "Cobb error: |predicted - true| over photos where both runs found a curve (negative: a is closer); "
            "severity / curve type right: fraction of photos (positive: a is right more often).",
            "",
            "| a - b | Dice | IoU | Line agreement | Cobb error (deg) | Severity right | Curve type right | photos |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for (a, b), d in paired.items():
            cells = [f"{d[m][0]:+.3f} ± {d[m][1]:.3f}" if m in d else "-" for m in CURVE_PAIRED]
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
        lines.append(f"| {CURVE_ROWS[n]} | {bias:+.2f} | {lo:+.2f} to {hi:+.2f} | {count} |")
    lines += ["", "## Goals", "", *[f"- {g}" for g in goals(mean, paired)], ""]
    heading = "## Validation line agreement per epoch (the key metric; plateau: last third's mean minus the middle's)"
    lines += [heading, ""]
    lines += ["| run | seed | plateau | last | every 10th epoch |", "|---|---|---|---|---|"]
    for n in names:
        by_seed = dict(zip(spec.seeds, curves[n], strict=True)) if curves and n in curves else {}
        for s in seeds:
            curve = by_seed.get(s)
            if curve:
                shown = " ".join(f"{v:.3f}" for v in curve[9::10])
                lines.append(f"| {n} | {s} | {plateau(curve):+.4f} | {curve[-1]:.4f} | {shown} |")
    size = f"{spec.size[0]} x {spec.size[1]}"
    lines += [
        "",
        "## Budget and machine",
        "",
        f"- Curve U-Net: {spec.epochs} epochs at {size} (H x W), batch {spec.batch}, "
        + settings_text
        + " (MONAI UNet, flips + Gaussian noise, Adam; 1e-4 constant unless said); "
        + (
            "the best-validation model (line agreement)."
            if spec.model == "best"
            else "the final model (end of the schedule)."
        ),
        f"- Phantom: {spec.samples} samples per seed, split 8:1:1"
        + (
            f", evaluated on {spec.test_photos} held-out photos per seed (phantom seed S + {HELD_OUT_SEED_OFFSET:,}) "
            "instead of its test split"
            if spec.test_photos
            else ""
        )
        + "; depth model: "
        + (
            f"`{spec.depth_bundle}` for every seed (settings {spec.depth_overrides})."
            if spec.depth_bundle is not None
            else f"GAMA-Net from `{spec.depth_out}/seed<S>/gamanet` ({spec.depth_epochs} epochs at "
            f"{spec.depth_size[0]} x {spec.depth_size[1]}, {depth_settings_text})."
            if depth_model
            else "none (no row uses estimated depth)."
        ),
        f"- {minutes:.0f} min of run time in all on {machine_name()}, {spec.jobs} run(s) at a time.",
    ]
    text = "\n".join(lines) + "\n"
    spec.out.mkdir(parents=True, exist_ok=True)
    (spec.out / f"{spec.name}.md").write_text(text)
    doc = {
        "mean": mean,
        "sd": sd,
        "per_seed": per_seed,
        "paired": {f"{a} - {b}": d for (a, b), d in paired.items()},
        "goals": goals(mean, paired),
        "bland_altman": agreement,
        "budget": spec.budget(),
        "minutes": minutes,
        "device": machine_name(),
    }
    clean = json.loads(json.dumps(doc), parse_constant=lambda c: None)  # NaN -> null: strict JSON
    (spec.out / f"{spec.name}.json").write_text(json.dumps(clean, indent=1, allow_nan=False))
    return text
