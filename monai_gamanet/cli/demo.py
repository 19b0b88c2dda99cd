"""The README's main job on the embedded synthetic data: ``python -m monai_gamanet.cli.demo --out DIR``.

1. generates the synthetic phantom dataset and its preview picture;
2. trains the back_depth_estimation bundle briefly on it (``monai.bundle run``, the same command a user runs);
3. evaluates the trained network on the test split (metrics table, pictures);
4. runs inference on the test photos (16-bit PNG, NIfTI and colour preview per photo);
5. trains the spine_curve_segmentation bundle briefly on RGB + the depth the trained depth model estimates
   (computed once for every photo and cached);
6. evaluates it on the test split (Table 4's metrics and the Cobb-angle figures);
7. runs the whole pipeline on the held-out test photos (``monai_gamanet.cli.pipeline``: depth, curve, report,
   overlay, Slicer curves), prints the report of one photo and how the brief models did on all of them (curves
   found, Cobb MAE and severity accuracy against the phantom's truth).

Every bundle command is printed before it runs. The brief training (a few epochs at half resolution) shows the
pipeline working end to end; it is far from a converged model.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from monai_gamanet.cli.pipeline import main as pipeline
from monai_gamanet.data.datalist import load_datalist
from monai_gamanet.data.synthetic import generate_dataset
from monai_gamanet.inference.bundles import run_bundle

__all__ = ["main"]

logger = logging.getLogger("monai_gamanet.cli.demo")

# Adam's step for the brief curve runs of the demo and of make serve: at the bundle's 1e-4 the U-Net needs about a
# thousand steps to leave its first "foreground everywhere" phase (measured: the curve bundle's docs), more than a
# brief run has; 1e-3 starts within a hundred.
BRIEF_CURVE_LEARNING_RATE = 1e-3


def _bundle(configs: Sequence[str], bundle: str = "back_depth_estimation", **overrides: object) -> None:
    """Run ``python -m monai.bundle run`` on a bundle's configs (the command is logged first)."""
    run_bundle(bundle, configs, overrides)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m monai_gamanet.cli.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="demo_output", help="folder for everything the demo writes")
    parser.add_argument("--n", type=int, default=200, help="phantom samples to generate")
    parser.add_argument("--seed", type=int, default=0, help="phantom seed")
    parser.add_argument("--workers", type=int, default=2, help="generator processes")
    parser.add_argument("--epochs", type=int, default=3, help="brief training budget (epochs)")
    parser.add_argument("--size", type=int, nargs=2, default=(240, 120), metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--curve-epochs", type=int, default=10, help="brief training budget of the curve U-Net")
    parser.add_argument(
        "--curve-lr", type=float, default=BRIEF_CURVE_LEARNING_RATE, help="the curve U-Net's Adam step (brief run)"
    )
    parser.add_argument(
        "--curve-size", type=int, nargs=2, default=(256, 128), metavar=("HEIGHT", "WIDTH"), help="multiples of 16"
    )
    parser.add_argument("--skip-training", action="store_true", help="only generate the phantom")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    out = Path(args.out).resolve()

    phantom = out / "phantom"
    logger.info("step 1: synthetic back phantom -> %s", phantom)
    summary = generate_dataset(phantom, args.n, seed=args.seed, workers=args.workers)
    logger.info(
        "%d samples in %.1f s (%.1f samples/s); curve types %s; severity %s; splits %s",
        summary["n"], summary["seconds"], summary["samples_per_second"], summary["curve_types"],
        summary["severity"], summary["splits"],
    )  # fmt: skip
    logger.info("preview picture: %s", phantom / "preview.png")
    if args.skip_training:
        return

    root = out / "back_depth_estimation"
    common = {"bundle_root": root, "dataset_dir": phantom, "spatial_size": [args.size[1], args.size[0]]}
    logger.info("step 2: train GAMA-Net briefly (%d epochs at %d x %d) -> %s", args.epochs, *args.size, root)
    _bundle(["train.yaml"], **common, epochs=args.epochs)
    logger.info("step 3: evaluate on the test split -> %s", root / "eval")
    _bundle(["train.yaml", "evaluate.yaml"], **common)
    logger.info("step 4: depth for the test photos -> %s", root / "predictions")
    _bundle(["inference.yaml"], bundle_root=root, input=phantom / "datalist.json", spatial_size=common["spatial_size"])
    logger.info("pictures: %s, %s, %s", phantom / "preview.png", root / "eval" / "samples.png", root / "predictions")

    curve_root = out / "spine_curve_segmentation"
    curve = {
        "bundle_root": curve_root,
        "dataset_dir": phantom,
        "spatial_size": [args.curve_size[1], args.curve_size[0]],
        "depth_bundle_root": root,
        "depth_overrides": {"spatial_size": common["spatial_size"]},  # the depth model as trained in step 2
        "learning_rate": args.curve_lr,
    }
    logger.info(
        "step 5: train the curve U-Net on RGB + estimated depth (%d epochs) -> %s", args.curve_epochs, curve_root
    )
    _bundle(["train.yaml"], "spine_curve_segmentation", **curve, epochs=args.curve_epochs)
    logger.info("step 6: evaluate the curve U-Net on the test split -> %s", curve_root / "eval")
    _bundle(["train.yaml", "evaluate.yaml"], "spine_curve_segmentation", **curve)
    photos = [item["image"] for item in load_datalist(phantom / "datalist.json")["test"]]
    reports = out / "pipeline"
    logger.info("step 7: the whole pipeline on the %d held-out test photos -> %s", len(photos), reports)
    pipeline_args = [*photos, "--out", str(reports), "--depth-bundle", str(root), "--curve-bundle", str(curve_root)]
    pipeline_args += ["--spacing", str(_phantom_spacing(phantom, photos[0]))]
    pipeline_args += ["--curve-overrides", json.dumps({"spatial_size": curve["spatial_size"]})]
    pipeline_args += ["--depth-overrides", json.dumps({"spatial_size": common["spatial_size"]})]
    pipeline(pipeline_args)
    first = reports / f"{Path(photos[0]).stem}_report.json"
    print(f"\nThe report of {Path(photos[0]).name} ({first}):\n{_short(json.loads(first.read_text()))}\n")
    logger.info(
        "pictures: %s (curve evaluation), %s/*_overlay.png (reports drawn); 3D Slicer curves: %s/*.mrk.json",
        curve_root / "eval" / "samples.png", reports, reports,
    )  # fmt: skip
    print(brief_model_summary(reports, phantom, photos, args.curve_epochs))


CONVERGED_DOCS = "bundles/spine_curve_segmentation/docs/README.md"


def brief_model_summary(reports: Path, phantom: Path, photos: Sequence[str], epochs: int) -> str:
    """How the brief models did on the held-out photos, measured against the phantom's truth: curves found, Cobb
    MAE and severity accuracy of the pipeline's reports, and where the figures of trained models are documented."""
    found, errors, severity = 0, [], []
    for photo in photos:
        report = json.loads((reports / f"{Path(photo).stem}_report.json").read_text())
        truth = json.loads((phantom / "curves" / f"{Path(photo).stem}.json").read_text())
        severity.append(report.get("severity") == truth["severity"])
        if report.get("curve_found"):
            found += 1
            errors.append(abs(report["major_cobb_deg"] - truth["major_cobb_deg"]))
    mae = f"{sum(errors) / len(errors):.1f} deg" if errors else "-"
    return (
        f"\nCurve found on {found} of {len(photos)} held-out photos; this brief model ({epochs} epochs of the curve "
        f"U-Net on a brief GAMA-Net) measures Cobb MAE {mae} and severity accuracy "
        f"{sum(severity) / max(1, len(severity)):.0%} against the phantom's truth. A brief model shows the workflow, "
        f"not a result: the trained models' figures are in {CONVERGED_DOCS} (Table 4).\n"
    )


def _phantom_spacing(phantom: Path, photo: str) -> float:
    """The phantom photo's millimetres per pixel, from its curve JSON (real photos: pass --spacing yourself)."""
    return float(json.loads((phantom / "curves" / f"{Path(photo).stem}.json").read_text())["pixel_spacing_mm"])


def _short(report: dict) -> str:
    """The report without its long point list, for the console."""
    shown = {k: v for k, v in report.items() if k != "points"}
    if "points" in report:
        shown["points"] = f"{len(report['points'])} points, C7 first: {report['points'][0]} ... {report['points'][-1]}"
    return json.dumps(shown, indent=1)


if __name__ == "__main__":
    main()
