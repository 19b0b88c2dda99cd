"""Which loss and which read-out of the curve U-Net give the better Cobb angle: measured on trained bundles.

    python benchmarks/curve_decoding.py --out runs/curve_decoding --samples 600 --seed 7 --epochs 60 --jobs 2

Trains the ``spine_curve_segmentation`` bundle (``--size`` 256 x 128, one phantom of ``--samples`` photos split
8:1:1) with Dice + cross entropy (the bundle's default) and with the paper's cross entropy alone, on RGB and on RGB +
the sensor's depth (which needs no depth model, so the comparison does not wait for one), each in its own folder under
``--out`` (resumable: the same command continues them). Each trained model is then evaluated twice by the bundle's
own ``evaluate.yaml``: the centre line read from the curve probability (``curve_decoding: probability``, no 0.5
threshold) and from the 0.5 mask (``mask``). Prints and writes ``decoding.md``: per run and read-out Dice, Cobb MAE
(photos with a curve found), photos with no curve found, severity accuracy (no curve counts as wrong), and the
paired per-photo difference of the absolute Cobb error, probability minus mask, over the photos both read-outs found.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # experiments/, beside benchmarks/

from experiments import paper_tables as pt  # noqa: E402
from experiments.tables import machine_name  # noqa: E402
from monai_gamanet.inference.bundles import run_bundle  # noqa: E402

BUNDLE = "spine_curve_segmentation"
RUNS = {
    "rgb_dicece": {"inputs": "rgb", "dice_weight": 1.0},
    "rgb_ce": {"inputs": "rgb", "dice_weight": 0.0},
    "rgbd_sensor_dicece": {"inputs": "rgbd", "depth_source": "ground_truth", "dice_weight": 1.0},
    "rgbd_sensor_ce": {"inputs": "rgbd", "depth_source": "ground_truth", "dice_weight": 0.0},
}
DECODINGS = ("probability", "mask")


def evaluate(root: Path, overrides: dict, decoding: str, threads: int | None) -> dict:
    """The bundle's evaluation of the trained run in ``root`` with ``decoding``, into ``root/eval_<decoding>``."""
    out = root / f"eval_{decoding}"
    if not (out / "metrics.json").is_file():
        settings = {**overrides, "curve_decoding": decoding, "output_dir": str(out)}
        run_bundle(BUNDLE, ["train.yaml", "evaluate.yaml"], settings, root / "log.txt", threads)
    return json.loads((out / "metrics.json").read_text())


def summary(results: dict[str, dict[str, dict]]) -> str:
    lines = [
        "| Run | read-out | Dice | Cobb MAE (deg) | no curve found | severity acc. | paired |err| probability - mask |",
        "|---|---|---|---|---|---|---|",
    ]
    for run, by in results.items():
        rows = {d: {Path(r["image"]).name: r for r in by[d]["per_image"]} for d in DECODINGS}
        both = [
            n
            for n in rows["mask"]
            if "major_cobb_deg" in rows["mask"][n] and "major_cobb_deg" in rows["probability"][n]
        ]
        diffs = [
            abs(rows["probability"][n]["major_cobb_deg"] - rows["probability"][n]["true_major_cobb_deg"])
            - abs(rows["mask"][n]["major_cobb_deg"] - rows["mask"][n]["true_major_cobb_deg"])
            for n in both
        ]
        paired = (
            f"{statistics.fmean(diffs):+.2f} ± {statistics.stdev(diffs) / math.sqrt(len(diffs)):.2f} ({len(diffs)})"
            if len(diffs) > 1
            else "-"
        )
        for d in DECODINGS:
            m = by[d]["metrics"]
            mae = "-" if m.get("cobb_mae") is None else f"{m['cobb_mae']:.2f}"
            lines.append(
                f"| {run} | {d} | {m['dice']:.3f} | {mae} | {m['no_curve_found']:.0f} of {len(rows[d])} "
                f"| {m['severity_accuracy']:.1%} | {paired if d == 'probability' else ''} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/curve_decoding"))
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--size", type=int, nargs=2, default=(256, 128), metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--runs", nargs="*", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--jobs", type=int, default=2, help="runs at once")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    dataset = pt.prepare_phantom(args.out, args.seed, args.samples)
    threads = args.threads

    def one(name: str) -> dict[str, dict]:
        root = args.out / name
        overrides = {
            "bundle_root": str(root),
            "dataset_dir": str(dataset),
            "spatial_size": [args.size[1], args.size[0]],
            "seed": args.seed,
            **RUNS[name],
        }
        pt.train_and_evaluate(BUNDLE, overrides, args.epochs, threads, name)
        return {d: evaluate(root, overrides, d, threads) for d in DECODINGS}

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = dict(zip(args.runs, pool.map(one, args.runs), strict=True))
    text = (
        f"Curve U-Net, {args.epochs} epochs at {args.size[0]} x {args.size[1]}, phantom of {args.samples} photos "
        f"(seed {args.seed}, 8:1:1), the best-validation model (line agreement), {machine_name()}.\n\n"
        + summary(results)
        + "\n"
    )
    (args.out / "decoding.md").write_text(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
