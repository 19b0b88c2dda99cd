"""The README's main job on the embedded synthetic data: ``python -m monai_gamanet.demo --out DIR``.

Today it generates the phantom dataset and its preview picture; training, evaluation and serving of the
bundles are added to this same command as they land.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from monai_gamanet.data.synthetic import generate_dataset

__all__ = ["main"]

logger = logging.getLogger("monai_gamanet.demo")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m monai_gamanet.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="demo_output", help="folder for everything the demo writes")
    parser.add_argument("--n", type=int, default=200, help="phantom samples to generate")
    parser.add_argument("--seed", type=int, default=0, help="phantom seed")
    parser.add_argument("--workers", type=int, default=2, help="generator processes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    phantom = Path(args.out) / "phantom"
    logger.info("step 1: synthetic back phantom -> %s", phantom)
    summary = generate_dataset(phantom, args.n, seed=args.seed, workers=args.workers)
    logger.info(
        "%d samples in %.1f s (%.1f samples/s); curve types %s; severity %s; splits %s",
        summary["n"],
        summary["seconds"],
        summary["samples_per_second"],
        summary["curve_types"],
        summary["severity"],
        summary["splits"],
    )
    logger.info("datalist: %s", phantom / "datalist.json")
    logger.info("preview picture: %s", phantom / "preview.png")


if __name__ == "__main__":
    main()
