"""Photos of backs in, for each: estimated depth, spine curve, morphology report, overlay and 3D Slicer curves.

    python -m monai_gamanet.pipeline PHOTO_OR_FOLDER [...] --out DIR [--spacing MM] [--depth-range-mm MM]
        [--depth-bundle bundles/back_depth_estimation] [--curve-bundle bundles/spine_curve_segmentation]

The two trained bundles, run as their configs define them (nothing copied): the depth bundle's network on the photo
(:func:`monai_gamanet.depth_cache.estimate_depth`), then the curve bundle's U-Net on RGB + that depth (its
``preprocessing``, ``network_def`` and ``inputs`` from ``configs/train.yaml``), the curve probability brought back
to the photo's size, the spine's centre line read from it by the bundle's ``curve_decoding`` (default: without a 0.5
threshold, :mod:`monai_gamanet.metrics.decoding`) and measured.
Per photo ``NAME``, in ``--out``:

* ``NAME_report.json``: the morphology (points, Cobb angles, apex, deviation, curve type, severity), or
  ``curve_found: false`` and the reason;
* ``NAME_overlay.png``: the photo with the curve, Cobb lines and angles;
* ``NAME_curve.mrk.json``: the curve on the photo as Slicer places it (z = 0);
* ``NAME_curve_3d.mrk.json``: the same curve on the back's surface (z from the estimated depth);
* ``NAME_depth.png``: the estimated relative depth (16-bit).

``--spacing`` is the photo's millimetres per pixel (default 1: lengths are then in pixels; angles do not depend on
it); ``--depth-range-mm`` the back's depth range for the 3D curve (default
:data:`~monai_gamanet.markups.DEFAULT_DEPTH_RANGE_MM`). A photo that cannot be read is reported in
``summary.json`` and skipped; every file is written atomically. Exit status 1 when any photo failed.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from monai_gamanet import uploads
from monai_gamanet.data.datalist import PHOTO_SUFFIXES
from monai_gamanet.data.files import atomic_write
from monai_gamanet.data.geometry import curve_to_band
from monai_gamanet.depth_cache import estimate_depth, load_depth_model, write_depth_png
from monai_gamanet.markups import DEFAULT_DEPTH_RANGE_MM, curve_markups, level_points, surface_heights, write_markups
from monai_gamanet.metrics.decoding import measure_curve_probability
from monai_gamanet.metrics.morphology import NoCurveFound
from monai_gamanet.metrics.surface import rotation_summary, surface_rotation
from monai_gamanet.visualize import overlay_morphology

__all__ = [
    "FLIPS",
    "check_photo",
    "curve_probability",
    "curve_uncertainty",
    "describe_curve",
    "flip_probabilities",
    "load_curve_model",
    "main",
    "run_photo",
]

logger = logging.getLogger("monai_gamanet.pipeline")


def load_curve_model(bundle_root: str | Path | None = None, overrides: dict | None = None, device=None) -> dict:
    """The trained curve bundle's U-Net (strict weights, eval mode), its preprocessing, inputs, inferer and the
    centre-line decoding it is read with."""
    from monai_gamanet.bundle_runner import load_trained_network

    parser, network, _ = load_trained_network(
        "spine_curve_segmentation", "train.yaml", "curve", bundle_root, overrides, device
    )
    return {
        "network": network,
        "preprocessing": parser.get_parsed_content("preprocessing"),
        "inferer": parser.get_parsed_content("train#inferer"),
        "inputs": parser.get_parsed_content("inputs"),
        "device": parser.get_parsed_content("device"),
        "decoding": parser.get_parsed_content("curve_decoding"),
    }


def check_photo(path: Path) -> None:
    """Refuse, before anything is written for it, a file that is not a readable RGB or grey photo
    (:func:`monai_gamanet.uploads.check_photo`).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a PNG / JPEG, or not a readable image (corrupt, or another kind of file).
    """
    uploads.check_photo(path, grey_ok=True)


def _atomic_png(path: Path, picture: np.ndarray) -> None:
    atomic_write(path, lambda tmp: Image.fromarray(picture).save(tmp, format="PNG"))


def curve_probability(photo: str | Path, depth_png: str | Path | None, curve_model: dict) -> np.ndarray:
    """The curve U-Net's probability of the curve class (W, H) at the photo's own size.

    ``depth_png`` is the estimated relative depth as a 16-bit PNG (the format the network was trained on, written
    by :func:`~monai_gamanet.depth_cache.write_depth_png`); unused when the model takes RGB only.
    """
    from monai.transforms import Resize

    item = {"image": str(photo)}
    if curve_model["inputs"] != "rgb":
        item["depth_relative"] = str(depth_png)
    image = curve_model["preprocessing"](item)["image"]
    with torch.inference_mode():
        logits = curve_model["inferer"](image[None].to(curve_model["device"]), curve_model["network"])[0].float()
    probability = torch.softmax(logits, 0)[1:].cpu()
    size = tuple(int(s) for s in image.meta["spatial_shape"])  # the photo's own (W, H)
    return np.asarray(Resize(size, mode="bilinear")(probability)[0])


FLIPS: tuple[tuple[int, ...], ...] = ((), (1,), (2,), (1, 2))  # none, left-right, upside-down, both (W, H axes)


def flip_probabilities(photo: str | Path, depth_png: str | Path | None, curve_model: dict) -> np.ndarray:
    """The curve probability (n_flips, W, H) at the network's size under the test-time flips of :data:`FLIPS`,
    each flipped back: where the network is sure, the four agree (it was trained with both flips)."""
    item = {"image": str(photo)}
    if curve_model["inputs"] != "rgb":
        item["depth_relative"] = str(depth_png)
    image = curve_model["preprocessing"](item)["image"]
    batch = torch.stack([image.as_tensor().flip(f) if f else image.as_tensor() for f in FLIPS])
    with torch.inference_mode():
        logits = curve_model["inferer"](batch.to(curve_model["device"]), curve_model["network"]).float()
    probability = torch.softmax(logits, 1)[:, 1].cpu()  # (n, W, H)
    return np.stack(
        [p.flip([d - 1 for d in f]).numpy() if f else p.numpy() for p, f in zip(probability, FLIPS, strict=True)]
    )


def curve_uncertainty(probabilities: np.ndarray, near: int = 3) -> float:
    """How much the flipped predictions (n, W, H) disagree near the predicted curve: the mean over pixels within
    ``near`` pixels of any flip's curve (probability > 0.5) of the probabilities' standard deviation across flips;
    0 when no flip finds a curve pixel (nothing to be unsure about: "no curve" is scored by that, not here)."""
    from scipy import ndimage

    union = (probabilities > 0.5).any(axis=0)
    if not union.any():
        return 0.0
    region = ndimage.binary_dilation(union, iterations=near)
    return float(probabilities.std(axis=0)[region].mean())


BAND_WIDTH = 5.0 / 240  # the label band drawn along a decoded line, as a fraction of the photo's width (phantom: 5 px)


def describe_curve(
    probability: np.ndarray,
    depth: np.ndarray,
    name: str,
    spacing: float = 1.0,
    depth_range_mm=None,
    decoding: str = "probability",
) -> tuple[dict, dict | None, dict | None, np.ndarray]:
    """Measure a curve probability (W, H): the report (plain Python types), the two Slicer markups (flat, on the
    back) and the curve label (W, H) uint8 0/1.

    The report adds the surface rotation at each level along the line (:func:`~monai_gamanet.metrics.surface.
    surface_rotation` of the relative depth times ``depth_range_mm``, default
    :data:`~monai_gamanet.markups.DEFAULT_DEPTH_RANGE_MM`: degrees need the photo's true ``spacing`` and depth range).
    The centre line is read by ``decoding`` (:func:`~monai_gamanet.metrics.decoding.decode_centre_line`); the label
    is then the band along that line (``"probability"``) or the 0.5 mask (``"mask"``). No curve found gives
    ``{"curve_found": False, "reason": ...}``, no markups and an empty label.
    """
    probability = np.asarray(probability)
    try:
        morphology = measure_curve_probability(probability, spacing, decoding)
    except NoCurveFound as err:
        return {"curve_found": False, "reason": str(err)}, None, None, np.zeros(probability.shape, np.uint8)
    if decoding == "mask":
        label = (probability > 0.5).astype(np.uint8)
    else:
        width = max(3.0, BAND_WIDTH * probability.shape[0])
        label = curve_to_band(morphology.points, probability.shape, width).astype(np.uint8)
    report = morphology.to_dict()
    points, labels = level_points(morphology.points)
    range_mm = DEFAULT_DEPTH_RANGE_MM if depth_range_mm is None else float(depth_range_mm)
    report |= rotation_summary(surface_rotation(np.asarray(depth) * range_mm, points, spacing), labels)
    summary = f"{morphology.description}; major Cobb {morphology.major_cobb_deg:.1f} deg, {morphology.severity}"
    flat = curve_markups(points, spacing, name=f"{name} spine", labels=labels, description=summary)
    z = surface_heights(points, depth, depth_range_mm)
    lifted = curve_markups(points, spacing, f"{name} spine (3D)", labels, z_mm=z, description=summary)
    return report, flat, lifted, label


def run_photo(
    photo: Path, out: Path, depth_model: dict, curve_model: dict, spacing: float = 1.0, depth_range_mm=None
) -> dict:
    """Run the whole pipeline on one photo; returns its report (also written as ``NAME_report.json``)."""
    check_photo(photo)
    name = photo.stem
    depth = estimate_depth(depth_model, photo)  # (W, H) at the photo's size
    depth_path = out / f"{name}_depth.png"
    write_depth_png(depth_path, depth)
    probability = curve_probability(photo, depth_path, curve_model)
    rgb = np.asarray(Image.open(photo).convert("RGB"))
    described, flat, lifted, mask = describe_curve(
        probability, depth, name, spacing, depth_range_mm, curve_model["decoding"]
    )
    report = {"image": str(photo), **described, "markups": []}
    if flat is not None:
        report["markups"] = [
            str(write_markups(out / f"{name}_curve.mrk.json", flat)),
            str(write_markups(out / f"{name}_curve_3d.mrk.json", lifted)),
        ]
    report["overlay"] = str(out / f"{name}_overlay.png")
    report["depth"] = str(depth_path)
    _atomic_png(Path(report["overlay"]), overlay_morphology(rgb, report, mask.T))
    text = json.dumps(report, indent=1)
    atomic_write(out / f"{name}_report.json", lambda tmp: Path(tmp).write_text(text))
    return report


def _photos(sources: list[str]) -> list[Path]:
    photos = []
    for source in map(Path, sources):
        if source.is_dir():
            photos += sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
        else:
            photos.append(source)
    return photos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monai_gamanet.pipeline", description=__doc__.split("\n")[0])
    parser.add_argument("photos", nargs="+", help="photo files or folders of photos (PNG / JPEG)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--spacing", type=float, default=1.0, help="millimetres per photo pixel (default 1)")
    parser.add_argument("--depth-range-mm", type=float, default=None, help="the back's depth range for the 3D curve")
    parser.add_argument("--depth-bundle", type=Path, default=None, help="default: bundles/back_depth_estimation")
    parser.add_argument("--curve-bundle", type=Path, default=None, help="default: bundles/spine_curve_segmentation")
    parser.add_argument("--curve-overrides", type=json.loads, default=None, help="JSON: curve train.yaml settings")
    parser.add_argument("--depth-overrides", type=json.loads, default=None, help="JSON: depth inference.yaml settings")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    photos = _photos(args.photos)
    if not photos:
        parser.error(f"no photo ({', '.join(PHOTO_SUFFIXES)}) in {args.photos}")
    args.out.mkdir(parents=True, exist_ok=True)
    depth_model = load_depth_model(args.depth_bundle, args.depth_overrides)
    curve_model = load_curve_model(args.curve_bundle, args.curve_overrides)
    results, failed = [], 0
    for k, photo in enumerate(photos, 1):
        try:
            report = run_photo(photo, args.out, depth_model, curve_model, args.spacing, args.depth_range_mm)
            results.append({k: report[k] for k in ("image", "curve_found") if k in report} | _headline(report))
            logger.info("%d/%d %s: %s", k, len(photos), photo.name, results[-1].get("summary"))
        except (FileNotFoundError, ValueError) as err:  # unreadable or wrong photo: said, and the others go on
            failed += 1
            results.append({"image": str(photo), "error": str(err)})
            logger.error("%d/%d %s: %s", k, len(photos), photo.name, err)
    text = json.dumps({"photos": results, "failed": failed}, indent=1)
    atomic_write(args.out / "summary.json", lambda tmp: Path(tmp).write_text(text))
    return 1 if failed else 0


def _headline(report: dict) -> dict:
    if not report.get("curve_found"):
        return {"summary": report.get("reason", "no curve found")}
    return {"summary": f"{report['description']}; major Cobb {report['major_cobb_deg']:.1f} deg, {report['severity']}"}


if __name__ == "__main__":
    raise SystemExit(main())
