"""The README's main job on the embedded synthetic data: ``python -m monai_gamanet.demo --out DIR``.

1. generates the synthetic phantom dataset and its preview picture;
2. trains the back_depth_estimation bundle briefly on it (``monai.bundle run``, the same command a user runs);
3. evaluates the trained network on the test split (metrics table, pictures);
4. runs inference on the test photos (16-bit PNG, NIfTI and colour preview per photo).

Every bundle command is printed before it runs. The brief training (a few epochs at half resolution) shows the
pipeline working end to end; it is far from a converged model.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from monai_gamanet.bundle_runner import run_bundle
from monai_gamanet.data.synthetic import generate_dataset

__all__ = ["main"]

logger = logging.getLogger("monai_gamanet.demo")


def _bundle(configs: Sequence[str], **overrides: object) -> None:
    """Run ``python -m monai.bundle run`` on the depth bundle's configs (the command is logged first)."""
    run_bundle("back_depth_estimation", configs, overrides)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m monai_gamanet.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="demo_output", help="folder for everything the demo writes")
    parser.add_argument("--n", type=int, default=200, help="phantom samples to generate")
    parser.add_argument("--seed", type=int, default=0, help="phantom seed")
    parser.add_argument("--workers", type=int, default=2, help="generator processes")
    parser.add_argument("--epochs", type=int, default=3, help="brief training budget (epochs)")
    parser.add_argument("--size", type=int, nargs=2, default=(240, 120), metavar=("HEIGHT", "WIDTH"))
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


if __name__ == "__main__":
    main()
