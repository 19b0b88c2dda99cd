"""Photos of backs in, for each: estimated depth, spine curve, morphology report, overlay and 3D Slicer curves.

    python -m monai_gamanet.cli.pipeline PHOTO_OR_FOLDER [...] --out DIR [--spacing MM] [--depth-range-mm MM]
        [--depth-bundle bundles/back_depth_estimation] [--curve-bundle bundles/spine_curve_segmentation]

The two trained bundles, run as their ``inference.yaml`` defines them (nothing copied), by the one chain of
:class:`monai_gamanet.inference.chain.SpineChain`: the depth bundle's network on the photo, then the curve bundle's
U-Net on RGB + that depth (in memory), the curve probability brought back to the photo's size, the spine's centre
line read from it by the bundle's ``curve_decoding`` (default: without a 0.5 threshold,
:mod:`monai_gamanet.metrics.decoding`) and measured.
Per photo ``NAME``, in ``--out``:

* ``NAME_report.json``: the morphology (points, Cobb angles, apex, deviation, curve type, severity), or
  ``curve_found: false`` and the reason;
* ``NAME_overlay.png``: the photo with the curve, Cobb lines and angles;
* ``NAME_curve.mrk.json``: the curve on the photo as Slicer places it (z = 0);
* ``NAME_curve_3d.mrk.json``: the same curve on the back's surface (z from the estimated depth);
* ``NAME_depth.png``: the estimated relative depth (16-bit).

``--spacing`` is the photo's millimetres per pixel (default 1: lengths are then in pixels; angles do not depend on
it); ``--depth-range-mm`` the back's depth range for the 3D curve (default
:data:`~monai_gamanet.io.markups.DEFAULT_DEPTH_RANGE_MM`). A photo that cannot be read is reported in
``summary.json`` and skipped; every file is written atomically. Exit status 1 when any photo failed.

Two visits of one patient:

    python -m monai_gamanet.cli.pipeline --compare EARLIER_PHOTO LATER_PHOTO --out DIR [--sdc-deg DEG]

runs the chain on both (their files in ``DIR/earlier`` and ``DIR/later``) and writes ``DIR/compare.json``: the
Cobb change of each curve followed between the visits with its 95 % interval from the models' measured
repeatability and the verdict "progression >= 5 deg likely" or "progression not shown"
(:func:`monai_gamanet.metrics.progression.compare_reports`); ``DIR/compare_later.mrk.json`` (the later curve,
yellow) and ``DIR/compare_earlier.mrk.json`` (the earlier curve brought onto the later photo, blue) to load over
the later photo in 3D Slicer; ``DIR/compare_overlay.png``, both lines over the later photo. The repeatability is
``--sdc-deg``, else the curve bundle's ``models/repeatability.json`` when it was measured on exactly these weights
(``benchmarks/repeatability.py``), else none: the change is then given without interval or verdict.
"""

from __future__ import annotations

import argparse
import json
import logging
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from monai_gamanet.data.datalist import PHOTO_SUFFIXES
from monai_gamanet.data.files import atomic_write
from monai_gamanet.inference.chain import SpineChain, load_photo
from monai_gamanet.inference.curve import CurvePredictor
from monai_gamanet.inference.depth import DepthPredictor
from monai_gamanet.inference.depth_cache import write_depth_png
from monai_gamanet.io import uploads
from monai_gamanet.io.markups import curve_markups, level_points, write_markups
from monai_gamanet.io.pictures import overlay_curve, overlay_morphology
from monai_gamanet.io.repeatability import RECORD_NAME, read_sdc
from monai_gamanet.metrics.progression import compare_reports, map_onto

__all__ = ["check_photo", "compare_photos", "main", "run_photo"]

EARLIER_RGB, LATER_RGB = (60, 160, 255), (255, 230, 0)  # blue earlier line, yellow later line (the usual curve)

logger = logging.getLogger("monai_gamanet.cli.pipeline")


def check_photo(path: Path) -> None:
    """Refuse, before anything is written for it, a file that is not a readable RGB or grey photo
    (:func:`monai_gamanet.io.uploads.check_photo`).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a PNG / JPEG, or not a readable image (corrupt, or another kind of file).
    """
    uploads.check_photo(path, grey_ok=True)


def _atomic_png(path: Path, picture: np.ndarray) -> None:
    atomic_write(path, lambda tmp: Image.fromarray(picture).save(tmp, format="PNG"))


def run_photo(photo: Path, out: Path, chain: SpineChain, spacing: float = 1.0, depth_range_mm=None) -> dict:
    """Run the whole chain on one photo and write its files; returns its report (also ``NAME_report.json``)."""
    check_photo(photo)
    name = photo.stem
    image = load_photo(photo)
    result = chain(image, name, spacing, depth_range_mm)
    depth_path = out / f"{name}_depth.png"
    write_depth_png(depth_path, result.depth)
    report = {"image": str(photo), **result.report, "markups": []}
    if result.flat is not None:
        report["markups"] = [
            str(write_markups(out / f"{name}_curve.mrk.json", result.flat)),
            str(write_markups(out / f"{name}_curve_3d.mrk.json", result.surface)),
        ]
    report["overlay"] = str(out / f"{name}_overlay.png")
    report["depth"] = str(depth_path)
    rgb = np.asarray(Image.open(photo).convert("RGB"))
    _atomic_png(Path(report["overlay"]), overlay_morphology(rgb, report, result.label.T))
    text = json.dumps(report, indent=1)
    atomic_write(out / f"{name}_report.json", lambda tmp: Path(tmp).write_text(text))
    return report


def compare_photos(
    earlier: Path,
    later: Path,
    out: Path,
    chain: SpineChain,
    spacing: float = 1.0,
    depth_range_mm=None,
    sdc_deg: float | None = None,
    sdc_source: str = "--sdc-deg",
) -> dict:
    """Two visits of one patient: the chain on both photos (their files in ``out/earlier``, ``out/later``), the
    comparison (``out/compare.json``, returned), both curves as Slicer markups and an overlay on the later photo.

    Both photos are checked before anything is written. ``sdc_deg`` is the models' smallest detectable change
    (None: not measured), ``sdc_source`` where it comes from (recorded in the comparison).
    """
    check_photo(earlier)
    check_photo(later)
    reports = {}
    for visit, photo in (("earlier", earlier), ("later", later)):
        (out / visit).mkdir(parents=True, exist_ok=True)
        reports[visit] = run_photo(photo, out / visit, chain, spacing, depth_range_mm)
    comparison = {
        "earlier": str(earlier),
        "later": str(later),
        **compare_reports(reports["earlier"], reports["later"], sdc_deg),
        "sdc_source": sdc_source,
        "markups": [],
    }
    rgb = np.asarray(Image.open(later).convert("RGB"))
    picture = overlay_curve(rgb)
    if comparison["major"] is not None:
        lines = {"later": np.asarray(reports["later"]["points"])}
        lines["earlier"] = map_onto(reports["earlier"]["points"], lines["later"])
        for visit, colour in (("earlier", EARLIER_RGB), ("later", LATER_RGB)):
            points, labels = level_points(lines[visit])
            major = reports[visit]["major_cobb_deg"]
            document = curve_markups(
                points,
                f"{Path(reports[visit]['image']).stem} spine ({visit} visit)",
                labels,
                description=f"{visit} visit: major Cobb {major:.1f} deg",
                color=[c / 255 for c in colour],
            )
            comparison["markups"].append(str(write_markups(out / f"compare_{visit}.mrk.json", document)))
            picture = overlay_curve(picture, points=lines[visit], line_rgb=colour)
    image = Image.fromarray(picture)
    lines = textwrap.wrap(_compare_headline(comparison), max(10, (image.width - 8) // 6))  # 6 px per character
    ImageDraw.Draw(image).multiline_text((4, 4), "\n".join(lines), fill=(255, 255, 255))
    comparison["overlay"] = str(out / "compare_overlay.png")
    _atomic_png(Path(comparison["overlay"]), np.asarray(image))
    text = json.dumps(comparison, indent=1)
    atomic_write(out / "compare.json", lambda tmp: Path(tmp).write_text(text))
    return comparison


def _compare_headline(comparison: dict) -> str:
    major = comparison["major"]
    if major is None:
        return "no curve to compare"
    change = f"major Cobb {major['earlier_cobb_deg']:.0f} -> {major['later_cobb_deg']:.0f} deg"
    return f"{change}: {comparison['verdict'] or 'not decided'}"


def _sdc(args: argparse.Namespace, chain: SpineChain) -> tuple[float | None, str]:
    if args.sdc_deg is not None:
        return args.sdc_deg, "--sdc-deg"
    return read_sdc(chain.curve.weights.parent / RECORD_NAME, chain.depth.weights, chain.curve.weights)


def _photos(sources: list[str]) -> list[Path]:
    photos = []
    for source in map(Path, sources):
        if source.is_dir():
            photos += sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
        else:
            photos.append(source)
    return photos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monai_gamanet.cli.pipeline", description=__doc__.split("\n")[0])
    parser.add_argument("photos", nargs="*", help="photo files or folders of photos (PNG / JPEG)")
    parser.add_argument(
        "--compare", nargs=2, type=Path, metavar=("EARLIER", "LATER"), help="two visits of one patient: the change"
    )
    parser.add_argument(
        "--sdc-deg", type=float, default=None, help="smallest detectable Cobb change (default: the measured one)"
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--spacing", type=float, default=1.0, help="millimetres per photo pixel (default 1)")
    parser.add_argument("--depth-range-mm", type=float, default=None, help="the back's depth range for the 3D curve")
    parser.add_argument("--depth-bundle", type=Path, default=None, help="default: bundles/back_depth_estimation")
    parser.add_argument("--curve-bundle", type=Path, default=None, help="default: bundles/spine_curve_segmentation")
    parser.add_argument("--curve-overrides", type=json.loads, default=None, help="JSON: curve inference.yaml settings")
    parser.add_argument("--depth-overrides", type=json.loads, default=None, help="JSON: depth inference.yaml settings")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.compare and args.photos:
        parser.error("give either photos or --compare EARLIER LATER, not both")
    if args.sdc_deg is not None and not (np.isfinite(args.sdc_deg) and args.sdc_deg >= 0):
        parser.error(f"--sdc-deg must be a number of degrees >= 0; got {args.sdc_deg}")
    photos = _photos(args.photos)
    if not photos and not args.compare:
        parser.error(f"no photo ({', '.join(PHOTO_SUFFIXES)}) in {args.photos}")
    chain = SpineChain(
        DepthPredictor.from_bundle(args.depth_bundle, args.depth_overrides),
        CurvePredictor.from_bundle(args.curve_bundle, args.curve_overrides),
    )
    args.out.mkdir(parents=True, exist_ok=True)
    if args.compare:
        return _compare_main(args, chain)
    results, failed = [], 0
    for k, photo in enumerate(photos, 1):
        try:
            report = run_photo(photo, args.out, chain, args.spacing, args.depth_range_mm)
            results.append({k: report[k] for k in ("image", "curve_found") if k in report} | _headline(report))
            logger.info("%d/%d %s: %s", k, len(photos), photo.name, results[-1].get("summary"))
        except (FileNotFoundError, ValueError) as err:  # unreadable or wrong photo: said, and the others go on
            failed += 1
            results.append({"image": str(photo), "error": str(err)})
            logger.error("%d/%d %s: %s", k, len(photos), photo.name, err)
    text = json.dumps({"photos": results, "failed": failed}, indent=1)
    atomic_write(args.out / "summary.json", lambda tmp: Path(tmp).write_text(text))
    return 1 if failed else 0


def _compare_main(args: argparse.Namespace, chain: SpineChain) -> int:
    sdc, source = _sdc(args, chain)
    try:
        comparison = compare_photos(*args.compare, args.out, chain, args.spacing, args.depth_range_mm, sdc, source)
    except (FileNotFoundError, ValueError) as err:
        logger.error("cannot compare: %s", err)
        return 1
    logger.info("%s (%s)", _compare_headline(comparison), comparison["note"])
    for row in comparison["curves"]:
        interval = row["interval_deg"]
        logger.info(
            "  %s %s curve: %s -> %s deg, change %s%s: %s",
            row["convex"],
            row["region"],
            row["earlier_cobb_deg"],
            row["later_cobb_deg"],
            row["change_deg"],
            f" (95 % {interval[0]:.1f} to {interval[1]:.1f})" if interval else "",
            row["verdict"],
        )
    return 0


def _headline(report: dict) -> dict:
    if not report.get("curve_found"):
        return {"summary": report.get("reason", "no curve found")}
    return {"summary": f"{report['description']}; major Cobb {report['major_cobb_deg']:.1f} deg, {report['severity']}"}


if __name__ == "__main__":
    raise SystemExit(main())
