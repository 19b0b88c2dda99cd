"""Does the curve model's flip uncertainty predict its Cobb error? Measured on a phantom's test photos.

    python benchmarks/curve_uncertainty.py --dataset runs/table4_ref/seed10/phantom \\
        --depth-bundle DEPTH_RUN --depth-overrides '{"spatial_size": [120, 240]}' \\
        --curve-bundle rgbd=runs/table4_ref/seed10/rgbd --curve-overrides '{"spatial_size": [128, 256]}' \\
        [--curve-bundle rgb=runs/table4_ref/seed10/rgb] [--split test] [--output DIR]

The whole chain (:class:`monai_gamanet.inference.chain.SpineChain`: estimated depth, curve, centre line, morphology)
on every photo of the split, per curve model (``NAME=FOLDER``; a name starting with ``rgb`` and not ``rgbd`` is an
RGB-only model, since a bundle folder does not record its inputs): the flip uncertainty the app scores for active
learning (:meth:`monai_gamanet.inference.curve.CurvePredictor.uncertainty`, the disagreement of the curve
probability with that of the mirrored photo) against the absolute Cobb error of the major curve
(:func:`experiments.correction_loop.measure_photos`, the same measurement as the correction loop's).

Printed per model: photos with a curve found, Cobb MAE, Pearson r of uncertainty and error with its 95 % interval
(Fisher z), Spearman's rank r, and the Cobb MAE of the most and least certain thirds; a model's uncertainty is called
predictive when the interval of r lies above 0. Several datasets (``--dataset`` repeated, e.g. both seeds of Table 4,
each with its own models given in the same order) are pooled.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # experiments/, beside benchmarks/

from experiments.correction_loop import measure_photos, summarise_photos  # noqa: E402
from monai_gamanet.inference import CurvePredictor, DepthPredictor  # noqa: E402
from monai_gamanet.inference.chain import SpineChain  # noqa: E402

logger = logging.getLogger("benchmarks.curve_uncertainty")


def correlation(x: np.ndarray, y: np.ndarray) -> dict[str, float | None]:
    """Pearson r with its 95 % interval (Fisher z; None under 4 pairs) and Spearman's rank r of two samples."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return {"r": None, "r_low": None, "r_high": None, "spearman": None}
    r = float(np.corrcoef(x, y)[0, 1])
    ranks = [np.argsort(np.argsort(v, kind="stable"), kind="stable").astype(float) for v in (x, y)]
    out = {"r": r, "r_low": None, "r_high": None, "spearman": float(np.corrcoef(*ranks)[0, 1])}
    if len(x) >= 4:
        z, half = math.atanh(max(-0.999999, min(0.999999, r))), 1.96 / math.sqrt(len(x) - 3)
        out |= {"r_low": math.tanh(z - half), "r_high": math.tanh(z + half)}
    return out


def figures(rows: list[dict]) -> dict:
    """One model's figures from its per-photo rows (:func:`experiments.correction_loop.measure_photos`)."""
    found = [r for r in rows if math.isfinite(r["cobb_error_deg"])]
    stats = summarise_photos(rows)
    pair = correlation([r["uncertainty"] for r in found], [r["cobb_error_deg"] for r in found])
    return stats | {"curve_found": len(found), "correlation": pair, "predictive": bool((pair["r_low"] or 0) > 0)}


def table(stats: dict[str, dict]) -> str:
    def f(v: float | None, fmt: str = ".2f") -> str:
        return "-" if v is None else format(v, fmt)

    lines = [
        "| model | curve found | Cobb MAE (deg) | r (95 % interval) | Spearman | MAE most certain third | "
        "MAE least certain third | predictive |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, s in stats.items():
        c = s["correlation"]
        interval = f"{f(c['r'])} ({f(c['r_low'])} to {f(c['r_high'])})"
        lines.append(
            f"| {name} | {s['curve_found']}/{s['test_photos']} | {f(s['cobb_mae_deg'])} | {interval} | "
            f"{f(c['spearman'])} | {f(s.get('mae_most_certain_third'))} | {f(s.get('mae_least_certain_third'))} | "
            f"{'yes' if s['predictive'] else 'no'} |"
        )
    return "\n".join(lines)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None  # JSON has no NaN: no curve found is null


def _model(text: str) -> tuple[str, Path]:
    name, sep, folder = text.partition("=")
    if not sep or not name or not folder:
        raise argparse.ArgumentTypeError(f"expected NAME=FOLDER, got {text!r}")
    return name, Path(folder)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, action="append", required=True, help="a phantom folder (repeatable)")
    parser.add_argument("--split", default="test", help="the datalist split to measure")
    parser.add_argument("--depth-bundle", type=Path, default=None, help="default: bundles/back_depth_estimation")
    parser.add_argument("--depth-overrides", type=json.loads, default=None)
    parser.add_argument(
        "--curve-bundle", type=_model, action="append", required=True, help="NAME=FOLDER, once per model per dataset"
    )
    parser.add_argument("--curve-overrides", type=json.loads, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--output", type=Path, default=None, help="also write the table and figures (JSON) here")
    args = parser.parse_args(argv)
    names = list(dict.fromkeys(name for name, _ in args.curve_bundle))
    groups = [args.curve_bundle[i : i + len(names)] for i in range(0, len(args.curve_bundle), len(names))]
    if len(groups) != len(args.dataset) or any([n for n, _ in g] != names for g in groups):
        parser.error(f"give the models {names} in this order once per --dataset ({len(args.dataset)} given)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    depth = DepthPredictor.from_bundle(args.depth_bundle, args.depth_overrides, args.device)
    rows: dict[str, list[dict]] = {name: [] for name in names}
    for i, dataset in enumerate(args.dataset):
        datalist = json.loads((dataset / "datalist.json").read_text())
        if args.split not in datalist:
            parser.error(f"{dataset / 'datalist.json'} has no split {args.split!r}")
        items = [
            {"id": Path(e["image"]).stem, **{k: str(dataset / e[k]) for k in ("image", "label", "curve")}}
            for e in datalist[args.split]
        ]
        for name, folder in groups[i]:
            inputs = "rgb" if name.startswith("rgb") and not name.startswith("rgbd") else "rgbd"
            overrides = {**(args.curve_overrides or {}), "inputs": inputs}
            chain = SpineChain(depth, CurvePredictor.from_bundle(folder, overrides, args.device))
            rows[name] += measure_photos(chain, items)
            logger.info("%s on %s: %d photos", name, dataset, len(items))
    stats = {name: figures(r) for name, r in rows.items()}
    text = table(stats)
    print(text)
    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        (args.output / "curve_uncertainty.md").write_text(text + "\n")
        photos = {n: [r | {"cobb_error_deg": _finite(r["cobb_error_deg"])} for r in v] for n, v in rows.items()}
        (args.output / "curve_uncertainty.json").write_text(json.dumps({"figures": stats, "photos": photos}, indent=1))
    return text


if __name__ == "__main__":
    main()
