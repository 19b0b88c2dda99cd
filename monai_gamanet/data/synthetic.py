"""Synthetic back RGB-D phantom: the embedded data of every demo, test and benchmark of monai-gamanet.

Run ``python -m monai_gamanet.data.synthetic --out DIR --n N --seed S [--height 480 --width 240]``. It writes
the data contract of DESIGN.md::

    DIR/images/case_0000.png   8-bit RGB photo of the back
    DIR/depth/case_0000.png    uint16 depth, millimetres from the camera, 0 = no measurement
    DIR/labels/case_0000.png   uint8 0/1 band along the radiographic spine curve, C7 to L5
    DIR/curves/case_0000.json  curve points (C7 first, pixel coordinates), Cobb angles, class, parameters
    DIR/datalist.json          {"training", "validation", "test"}: 8:1:1, paths relative to DIR
    DIR/preview.png            photo | colour-mapped depth | curve overlay for the first samples

Sample ``i`` of seed ``S`` depends on nothing else, so the output is identical for the same seed whatever
``N`` or the number of worker processes. Every file is written to a temporary name and renamed, so an
interrupted run leaves no half-written file.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from monai_gamanet.data.datalist import split_indices
from monai_gamanet.data.files import atomic_write
from monai_gamanet.data.geometry import curve_to_band
from monai_gamanet.data.phantom.anatomy import add_curvature, build_spine, height_field, restage, sample_parameters
from monai_gamanet.data.phantom.render import render_depth, render_photo, surface_normals
from monai_gamanet.metrics.levels import LEVEL_T, LEVELS
from monai_gamanet.metrics.morphology import measure_spine

__all__ = [
    "PhantomSample",
    "generate_sample",
    "regenerate",
    "write_sample",
    "generate_dataset",
    "write_preview",
    "main",
]

logger = logging.getLogger(__name__)

GENERATOR_VERSION = "1.3"  # 1.1: truth by metrics.morphology.measure_spine; 1.2: rotation per level; 1.3: captures
MIN_SIZE = (48, 24)


@dataclass
class PhantomSample:
    """One phantom capture in display order (as the PNG files store it).

    Attributes:
        image: (H, W, 3) uint8 photo.
        depth: (H, W) uint16 depth in mm, 0 = no measurement.
        label: (H, W) uint8 curve band, 0/1.
        curve: the curve JSON document.
        surface: (H, W) float32 noise-free distance from the camera in mm: the surface that ``depth`` measures,
            before the sensor's noise and holes (kept in memory only; the files hold what a camera gives).
    """

    image: np.ndarray
    depth: np.ndarray
    label: np.ndarray
    curve: dict
    surface: np.ndarray


def _to_pixels(x_mm: np.ndarray, y_mm: np.ndarray, spacing: float, width: int) -> np.ndarray:
    """Millimetres (X from the image centre, Y from the top) to (column, row) pixel coordinates."""
    return np.stack([x_mm / spacing + (width - 1) / 2, y_mm / spacing - 0.5], axis=1)


CAPTURE_STREAM = 7919  # a third seed word for the random stream of capture k of a sample (generate_sample)


def generate_sample(
    index: int,
    seed: int = 0,
    height: int = 480,
    width: int = 240,
    band_width: float = 5.0,
    name: str | None = None,
    capture: int = 0,
    added_cobb_deg: float = 0.0,
) -> PhantomSample:
    """Generate phantom sample ``index`` of the dataset drawn with ``seed``.

    Args:
        index: sample number; with ``seed`` it fixes every random draw.
        seed: dataset seed.
        height: photo height in pixels (rows).
        width: photo width in pixels (columns).
        band_width: width of the curve band of the label, in pixels.
        name: id written in the curve JSON; default ``case_{index:04d}``.
        capture: 0 is the sample itself; ``k > 0`` another capture of the same back (the same subject, skin and
            room): the subject stood again (:func:`~monai_gamanet.data.phantom.anatomy.restage`: sway, shoulder
            tilt, camera distance), another light, exposure and camera noise (``render_photo``'s ``capture_rng``),
            a new depth capture with its own noise and holes. For repeatability studies.
        added_cobb_deg: the major curve made this much larger
            (:func:`~monai_gamanet.data.phantom.anatomy.add_curvature`): a later visit after a progression.
    """
    if height < MIN_SIZE[0] or width < MIN_SIZE[1]:
        raise ValueError(
            f"phantom size must be at least {MIN_SIZE[0]} x {MIN_SIZE[1]} (H x W); got {height} x {width}."
        )
    if capture < 0:
        raise ValueError(f"capture must be 0 (the sample) or a positive capture number, not {capture}.")
    rng = np.random.default_rng([int(seed), int(index)])
    capture_rng = np.random.default_rng([int(seed), int(index), CAPTURE_STREAM, int(capture)]) if capture else None
    params = sample_parameters(rng, height, width)
    if capture_rng is not None:
        params = restage(params, capture_rng)
    params = add_curvature(params, added_cobb_deg)
    spine = build_spine(params)
    h, body = height_field(params, spine)
    normals = surface_normals(h, params.spacing_mm)
    image, photo_params = render_photo(rng, normals, body, params.spacing_mm, capture_rng)
    depth, depth_params = render_depth(capture_rng or rng, h, normals, body, params.distance_mm)

    s = params.spacing_mm
    points = np.round(_to_pixels(spine.x, spine.y, s, width), 3)
    surface = np.round(_to_pixels(spine.x_surface, spine.y, s, width), 3)
    label = curve_to_band(points, (width, height), band_width).T  # (W, H) MONAI order -> (H, W) display order
    # the ground truth measured by the same function as a predicted curve (monai_gamanet.metrics.morphology)
    morphology = measure_spine(points, s).to_dict()
    in_body = body > 0
    valid = depth > 0
    level_idx = [int(np.argmin(np.abs(spine.t - t))) for t in LEVEL_T]
    curve = {
        "id": name or f"case_{index:04d}",
        "format": "monai-gamanet curve 1",
        "image_size": {"height": height, "width": width},
        "pixel_spacing_mm": round(s, 5),
        "points": points.tolist(),
        "surface_points": surface.tolist(),
        "vertebrae": {lvl: points[i].tolist() for lvl, i in zip(LEVELS, level_idx, strict=True)},
        **{k: morphology[k] for k in ("cobb_angles_deg", "major_cobb_deg", "curves", "curve_type", "description")},
        **{k: morphology[k] for k in ("severity", "max_deviation_mm", "smoothing_mm")},
        "max_atr_deg": round(float(np.max(np.abs(spine.atr_deg))), 2),
        # the axial rotation of the trunk at each level, positive where the right (+x) side stands out: the truth
        # that metrics.surface.surface_rotation measures from a depth map
        "surface_rotation_deg": {
            lvl: round(float(spine.atr_deg[i]), 2) for lvl, i in zip(LEVELS, level_idx, strict=True)
        },
        "surface_vertebrae": {lvl: surface[i].tolist() for lvl, i in zip(LEVELS, level_idx, strict=True)},
        "depth": {
            "distance_mm": round(params.distance_mm, 1),
            "range_mm": [int(depth[valid].min()), int(depth[valid].max())] if valid.any() else None,
            "valid_fraction": round(float(valid.mean()), 4),
            "hole_fraction_in_body": round(float(1.0 - valid[in_body].mean()), 4) if in_body.any() else 1.0,
        },
        "generator": {
            "name": "monai_gamanet.data.synthetic",
            "version": GENERATOR_VERSION,
            "seed": int(seed),
            "index": int(index),
            "capture": int(capture),
            "added_cobb_deg": float(added_cobb_deg),
            "band_width_px": band_width,
            "parameters": params.to_dict(),
            "photo": photo_params,
            "depth_sensor": depth_params,
        },
    }
    surface = (params.distance_mm - h).astype(np.float32)
    return PhantomSample(image=image, depth=depth, label=label, curve=curve, surface=surface)


def regenerate(curve: dict) -> PhantomSample:
    """The sample a curve JSON of this generator was written from (its seed, index, size, capture and added
    curvature), with what the files do not hold: the noise-free surface, the true rotation per level."""
    origin, size = curve["generator"], curve["image_size"]
    return generate_sample(
        origin["index"],
        origin["seed"],
        size["height"],
        size["width"],
        origin.get("band_width_px", 5.0),
        curve.get("id"),
        origin.get("capture", 0),
        origin.get("added_cobb_deg", 0.0),
    )


def write_sample(sample: PhantomSample, out_dir: str | Path, name: str) -> dict[str, str]:
    """Write one sample's four files under ``out_dir``; returns its datalist entry (paths relative to ``out_dir``)."""
    out = Path(out_dir)
    entry = {
        "image": f"images/{name}.png",
        "depth": f"depth/{name}.png",
        "label": f"labels/{name}.png",
        "curve": f"curves/{name}.json",
    }
    atomic_write(
        out / entry["image"], lambda p: Image.fromarray(sample.image, "RGB").save(p, format="PNG", compress_level=1)
    )
    atomic_write(out / entry["depth"], lambda p: Image.fromarray(sample.depth).save(p, format="PNG", compress_level=1))
    atomic_write(out / entry["label"], lambda p: Image.fromarray(sample.label, "L").save(p, format="PNG"))
    atomic_write(out / entry["curve"], lambda p: Path(p).write_text(json.dumps(sample.curve, indent=1)))
    return entry


def _generate_and_write(args: tuple) -> tuple[dict, dict]:
    index, seed, height, width, band_width, out_dir = args
    name = f"case_{index:04d}"
    sample = generate_sample(index, seed, height, width, band_width, name)
    entry = write_sample(sample, out_dir, name)
    summary = {k: sample.curve[k] for k in ("curve_type", "severity", "major_cobb_deg")}
    summary["hole_fraction_in_body"] = sample.curve["depth"]["hole_fraction_in_body"]
    return entry, summary


def write_preview(out_dir: str | Path, entries: Sequence[dict], path: str | Path | None = None, n: int = 6) -> Path:
    """Picture of the first ``n`` samples: photo | colour-mapped depth | curve overlay, three samples a row."""
    from monai_gamanet.io.pictures import colorize_depth, overlay_curve, panel_grid

    out = Path(out_dir)
    rows, captions = [], []
    for entry in entries[:n]:
        photo = np.asarray(Image.open(out / entry["image"]).convert("RGB"))
        depth = np.asarray(Image.open(out / entry["depth"]))
        band = np.asarray(Image.open(out / entry["label"]))
        curve = json.loads((out / entry["curve"]).read_text())
        rows.append([photo, colorize_depth(depth), overlay_curve(photo, band, np.asarray(curve["points"]))])
        captions.append(
            f"{curve['id']}: {curve['curve_type']}, Cobb {curve['major_cobb_deg']:.0f} deg, {curve['severity']}"
        )
    per_row = 3
    merged = [sum(rows[i : i + per_row], []) for i in range(0, len(rows), per_row)]
    merged_captions = ["   |   ".join(captions[i : i + per_row]) for i in range(0, len(captions), per_row)]
    target = Path(path) if path is not None else out / "preview.png"
    grid = panel_grid(merged, merged_captions, scale=0.75)
    atomic_write(target, lambda p: grid.save(p, format="PNG"))
    return target


def generate_dataset(
    out_dir: str | Path,
    n: int,
    seed: int = 0,
    height: int = 480,
    width: int = 240,
    band_width: float = 5.0,
    workers: int = 1,
    preview: bool = True,
) -> dict:
    """Generate ``n`` samples with their datalist (8:1:1) and, optionally, the preview picture.

    Args:
        out_dir: dataset folder; created if missing. Existing files of the same names are replaced.
        n: number of samples (at least 1).
        seed: dataset seed.
        height: photo height (rows).
        width: photo width (columns).
        band_width: curve band width of the labels in pixels.
        workers: processes generating in parallel (the output does not depend on it).
        preview: also write ``preview.png``.

    Returns:
        a summary: counts per curve type and severity, hole fractions, wall time and samples per second.
    """
    if n < 1:
        raise ValueError(f"the number of samples must be at least 1, got {n}.")
    if height < MIN_SIZE[0] or width < MIN_SIZE[1]:
        raise ValueError(
            f"phantom size must be at least {MIN_SIZE[0]} x {MIN_SIZE[1]} (H x W); got {height} x {width}."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(i, seed, height, width, band_width, str(out)) for i in range(n)]
    start = time.perf_counter()
    results = []
    progress_every = max(1, n // 10)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for k, res in enumerate(pool.map(_generate_and_write, jobs, chunksize=max(1, n // (8 * workers))), 1):
                results.append(res)
                if k % progress_every == 0 or k == n:
                    logger.info("generated %d/%d samples", k, n)
    else:
        for k, job in enumerate(jobs, 1):
            results.append(_generate_and_write(job))
            if k % progress_every == 0 or k == n:
                logger.info("generated %d/%d samples", k, n)
    elapsed = time.perf_counter() - start
    entries = [r[0] for r in results]
    splits = split_indices(n, seed)
    datalist = {split: [entries[i] for i in idx] for split, idx in splits.items()}
    atomic_write(out / "datalist.json", lambda p: Path(p).write_text(json.dumps(datalist, indent=1)))
    if preview:
        write_preview(out, entries)
    summaries = [r[1] for r in results]
    holes = np.array([s["hole_fraction_in_body"] for s in summaries])
    return {
        "n": n,
        "seconds": elapsed,
        "samples_per_second": n / elapsed,
        "curve_types": dict(Counter(s["curve_type"] for s in summaries)),
        "severity": dict(Counter(s["severity"] for s in summaries)),
        "major_cobb_deg": {
            "mean": float(np.mean([s["major_cobb_deg"] for s in summaries])),
            "max": float(np.max([s["major_cobb_deg"] for s in summaries])),
        },
        "hole_fraction_in_body": {"mean": float(holes.mean()), "max": float(holes.max())},
        "splits": {k: len(v) for k, v in datalist.items()},
    }


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m monai_gamanet.data.synthetic", description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="dataset folder to write")
    parser.add_argument("--n", type=int, default=100, help="number of samples")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed; the same seed gives identical files")
    parser.add_argument("--height", type=int, default=480, help="photo height in pixels (rows)")
    parser.add_argument("--width", type=int, default=240, help="photo width in pixels (columns)")
    parser.add_argument("--band-width", type=float, default=5.0, help="curve band width of the labels, pixels")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="parallel processes")
    parser.add_argument("--no-preview", action="store_true", help="do not write preview.png")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        summary = generate_dataset(
            args.out, args.n, args.seed, args.height, args.width, args.band_width, args.workers, not args.no_preview
        )
    except ValueError as err:
        parser.error(str(err))
    logger.info(
        "wrote %d samples to %s in %.1f s: %.1f samples/s at %d x %d with %d worker(s)",
        summary["n"],
        args.out,
        summary["seconds"],
        summary["samples_per_second"],
        args.height,
        args.width,
        args.workers,
    )
    logger.info(
        "curve types %s, severity %s, splits %s", summary["curve_types"], summary["severity"], summary["splits"]
    )
    return summary


if __name__ == "__main__":
    main()
