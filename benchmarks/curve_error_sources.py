"""Where a trained curve U-Net's Cobb-angle error comes from, measured on a Table 4 run's test photos.

    python benchmarks/curve_error_sources.py --tables runs/table4 --depth-out runs/depth --seeds 0 1 --runs rgbd rgb

For each run (a ``experiments.curve_tables`` run folder) it scores, against the phantom's true Cobb angle and
severity, on the same test photos and at the run's network size:

* ``truth mask``: the ground-truth label resized as the network sees it, measured (the resolution's ceiling);
* ``prediction``: the predicted mask, measured (what Table 4 reports);
* ``probability line``: a centre line taken from the curve probability row by row (argmax, gap-tolerant) instead
  of the thresholded mask's largest component (is the post-processing the cause?);
* ``surface line (oracle)``: the phantom's noise-free *surface* line (what the back's shape shows), mapped to the
  spine's angle by the best linear fit over the whole phantom: the information limit of a network that reads the
  back's surface perfectly, since the surface shows only part of the spine's curvature, a per-back fraction the
  photo does not reveal.

Prints one markdown table (Cobb MAE, median, bias, photos over 5 degrees, severity accuracy, no curve found).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # experiments/, beside benchmarks/

from experiments.curve_tables import RUNS  # noqa: E402
from monai_gamanet.metrics.centre_line import NoCurveFound
from monai_gamanet.metrics.morphology import measure_curve_mask, measure_spine, severity_class  # noqa: E402


def probability_line(prob: np.ndarray, threshold: float = 0.3, window: int = 3, max_gap: int = 12) -> np.ndarray:
    """Centre line (x, y) per row from a (W, H) curve probability: the longest run of rows whose probability peaks
    above ``threshold``, with gaps of at most ``max_gap`` rows and no sideways jump, interpolated over the gaps."""
    width, height = prob.shape
    points = []
    for y in range(height):
        i = int(prob[:, y].argmax())
        if prob[i, y] >= threshold:
            lo, hi = max(0, i - window), min(width, i + window + 1)
            w = prob[lo:hi, y]
            points.append(((np.arange(lo, hi) * w).sum() / w.sum(), y))
    if len(points) < 2:
        raise NoCurveFound("no curve found: no row peaks above the threshold.")
    runs, current = [], [points[0]]
    for p in points[1:]:
        q = current[-1]
        if p[1] - q[1] <= max_gap and abs(p[0] - q[0]) <= 2.0 * (p[1] - q[1]) + 2:
            current.append(p)
        else:
            runs.append(current)
            current = [p]
    runs.append(current)
    best = np.array(max(runs, key=lambda r: r[-1][1] - r[0][1]))
    if best[-1, 1] - best[0, 1] < 0.25 * height:
        raise NoCurveFound("no curve found: the longest run of rows is too short.")
    rows = np.arange(best[0, 1], best[-1, 1] + 1)
    return np.stack([np.interp(rows, best[:, 1], best[:, 0]), rows], axis=1)


def surface_oracle(curves: list[dict]) -> dict[str, float]:
    """Best linear map from the noise-free surface line's Cobb angle to the spine's, over every phantom sample."""
    surface, truth = [], []
    for doc in curves:
        try:
            surface.append(measure_spine(np.array(doc["surface_points"]), doc["pixel_spacing_mm"]).major_cobb_deg)
        except NoCurveFound:
            surface.append(0.0)
        truth.append(doc["major_cobb_deg"])
    s, t = np.array(surface), np.array(truth)
    a, b = np.polyfit(s, t, 1)
    return {str(doc["id"]): float(a * v + b) for doc, v in zip(curves, s, strict=True)}


def score(errors: list[float | None], severity: list[bool], signed: list[float]) -> dict[str, float]:
    found = np.array([e for e in errors if e is not None])
    return {
        "mae": float(found.mean()) if len(found) else float("nan"),
        "median": float(np.median(found)) if len(found) else float("nan"),
        "bias": float(np.mean(signed)) if signed else float("nan"),
        "over5": int((found > 5).sum()),
        "n": len(errors),
        "severity": float(np.mean(severity)),
        "no_curve": sum(e is None for e in errors),
    }


def _cobb(kind: str, truth: np.ndarray, prob: np.ndarray, spacing: tuple, oracle: float | None) -> float:
    if kind == "truth mask":
        return measure_curve_mask(truth, spacing).major_cobb_deg
    if kind == "prediction":
        return measure_curve_mask(prob > 0.5, spacing).major_cobb_deg
    if kind == "probability line":
        return measure_spine(probability_line(prob), spacing).major_cobb_deg
    return float(oracle)


def sources(run_root: Path, overrides: dict, oracle: dict[str, float]) -> dict[str, dict[str, float]]:
    from monai.bundle import ConfigParser

    from monai_gamanet.data import prepare_dataset
    from monai_gamanet.inference.bundles import BUNDLES
    from monai_gamanet.inference.curve import CurvePredictor

    model = CurvePredictor.from_bundle(run_root, overrides, "cpu")
    parser = ConfigParser()
    parser.read_config(str(BUNDLES / "spine_curve_segmentation" / "configs" / "train.yaml"))
    parser.update({"bundle_root": str(run_root), **overrides})
    preprocessing = parser.get_parsed_content("preprocessing")  # train.yaml's: the label too, the cached depth
    datalist = prepare_dataset(overrides["dataset_dir"])
    kinds = ("truth mask", "prediction", "probability line", "surface line (oracle)")
    errors = {k: [] for k in kinds}
    signed = {k: [] for k in kinds}
    severity = {k: [] for k in kinds}
    for item in datalist["test"]:
        doc = json.loads(Path(item["curve"]).read_text())
        data = preprocessing(item)
        with torch.inference_mode():
            logits = model.inferer(data["image"][None], model.network)[0].float()
        prob = torch.softmax(logits, 0)[1].numpy()
        s = doc["pixel_spacing_mm"]
        spacing = (s * doc["image_size"]["width"] / prob.shape[0], s * doc["image_size"]["height"] / prob.shape[1])
        for kind in kinds:
            try:
                cobb = _cobb(kind, data["label"][0].numpy(), prob, spacing, oracle.get(str(doc["id"])))
            except NoCurveFound:
                errors[kind].append(None)
                severity[kind].append(False)
                continue
            errors[kind].append(abs(cobb - doc["major_cobb_deg"]))
            signed[kind].append(cobb - doc["major_cobb_deg"])
            severity[kind].append(severity_class(cobb) == doc["severity"])
    return {k: score(errors[k], severity[k], signed[k]) for k in kinds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", type=Path, default=Path("runs/table4"), help="curve_tables' --out")
    parser.add_argument("--depth-out", type=Path, default=Path("runs/depth"))
    parser.add_argument("--size", type=int, nargs=2, default=(256, 128), metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--depth-size", type=int, nargs=2, default=(240, 120), metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--runs", nargs="+", default=["rgbd"], choices=list(RUNS))
    args = parser.parse_args()
    from experiments.paper_tables import BASE

    print("| run | seed | measured from | Cobb MAE | median | bias | over 5 deg | severity acc. | no curve |")
    print("|---|---|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        dataset = args.tables / f"seed{seed}" / "phantom"
        curves = [json.loads(p.read_text()) for p in sorted((dataset / "curves").glob("*.json"))]
        oracle = surface_oracle(curves)
        for run in args.runs:
            overrides = {
                "dataset_dir": str(dataset),
                "spatial_size": [args.size[1], args.size[0]],
                "depth_bundle_root": str(args.depth_out / f"seed{seed}" / "gamanet"),
                "depth_overrides": {
                    "spatial_size": [args.depth_size[1], args.depth_size[0]],
                    **BASE,
                    "network_name": "gamanet",
                },
                **RUNS[run],
            }
            for kind, r in sources(args.tables / f"seed{seed}" / run, overrides, oracle).items():
                print(
                    f"| {run} | {seed} | {kind} | {r['mae']:.2f} | {r['median']:.2f} | {r['bias']:+.2f} | "
                    f"{r['over5']}/{r['n']} | {r['severity']:.2f} | {r['no_curve']} |"
                )


if __name__ == "__main__":
    main()
