"""Import Azure Kinect captures into a MONAI Label studies folder: ``python -m monai_gamanet.cli.kinect CAPTURES
--studies STUDIES [--dry-run] [--no-curves]`` (the layouts and checks: :mod:`monai_gamanet.data.kinect`).

Prints what was imported and skipped (the full report as JSON on stderr); exit status 1 when any capture was
skipped, 2 when the captures folder does not exist.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from monai_gamanet.data.kinect import import_captures

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monai_gamanet.cli.kinect", description=__doc__.split("\n")[0])
    parser.add_argument("captures", type=Path, help="folder of Azure Kinect captures (see monai_gamanet.data.kinect)")
    parser.add_argument("--studies", type=Path, required=True, help="the MONAI Label studies folder to fill")
    parser.add_argument("--dry-run", action="store_true", help="check and report only; write nothing")
    parser.add_argument("--no-curves", action="store_true", help="leave the curve labels out")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        report = import_captures(args.captures, args.studies, args.dry_run, curves=not args.no_curves)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    verb = "would import" if args.dry_run else "imported"
    print(f"{verb} {len(report['imported'])} capture(s) ({len(report['with_curve_label'])} with a curve label)")
    for name, problems in report["skipped"].items():
        print(f"skipped {name}: {'; '.join(problems)}")
    print(json.dumps(report, indent=1), file=sys.stderr)
    return 1 if report["skipped"] else 0


if __name__ == "__main__":
    sys.exit(main())
