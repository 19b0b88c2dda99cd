"""How well a depth map carries the shape that matters: surface rotation per level against the phantom's truth.

    python benchmarks/surface_rotation.py --dataset runs/reference_depth/seed0/phantom \\
        --depth-bundle runs/reference_depth/seed0/lr_cosine_1e-3 --depth-overrides '{"spatial_size": [120, 240]}'

For each test photo of ``--dataset`` (a phantom: each sample is regenerated from its curve JSON's seed and index,
for its true rotation per level and its noise-free surface) the surface rotation at C7 ... L5 along the true
spinous line (:func:`monai_gamanet.metrics.surface.surface_rotation`) is measured on three depth maps:

* the noise-free surface (what the method reads from a perfect depth: its own ceiling);
* the sensor's depth (the Kinect-like ground truth the networks train on, with its noise and holes);
* the depth network's estimate (``--depth-bundle``): relative depth in [0, 1] mapped back to millimetres by the
  capture's own depth range (the min-max normalisation of the training target), so that only the shape is scored.

Prints one markdown table: mean absolute error, bias and Pearson r against the truth over every measured level of
every photo, the truth's own spread, and the paired per-level difference of the absolute error, estimate minus
sensor. Also on the levels where the truth is at least 1 degree (where there is a rotation to see).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from monai_gamanet.data.datalist import load_datalist
from monai_gamanet.data.synthetic import regenerate
from monai_gamanet.metrics.levels import LEVELS
from monai_gamanet.metrics.surface import surface_rotation


def measure(dataset: Path, depth_model: dict | None, n: int | None) -> dict[str, np.ndarray]:
    """Truth and measured rotation (degrees) per level of every test photo, by source."""
    out: dict[str, list] = {"truth": [], "surface": [], "sensor": [], "estimate": []}
    for item in load_datalist(dataset / "datalist.json")["test"][:n]:
        doc = json.loads(Path(item["curve"]).read_text())
        sample = regenerate(doc)
        truth_doc, spacing = sample.curve, sample.curve["pixel_spacing_mm"]
        points = np.array([truth_doc["surface_vertebrae"][lvl] for lvl in LEVELS])
        sensor = np.asarray(Image.open(item["depth"]), dtype=np.float64).T  # (W, H) mm, 0 = none
        out["truth"].append([truth_doc["surface_rotation_deg"][lvl] for lvl in LEVELS])
        out["surface"].append(surface_rotation(sample.surface.T, points, spacing))
        out["sensor"].append(surface_rotation(sensor, points, spacing))
        if depth_model is not None:
            valid = sensor > 0
            lo, hi = sensor[valid].min(), sensor[valid].max()
            estimate = lo + depth_model(item["image"]) * (hi - lo)
            out["estimate"].append(surface_rotation(np.where(valid, estimate, 0.0), points, spacing))
    return {k: np.concatenate(v) for k, v in out.items() if v}


def _r(a: np.ndarray, b: np.ndarray) -> str:
    return f"{np.corrcoef(a, b)[0, 1]:.3f}" if len(a) > 1 and a.std() > 0 and b.std() > 0 else "-"


def _mae(err: np.ndarray) -> str:
    return f"{np.abs(err).mean():.2f}" if len(err) else "-"


def table(rows: dict[str, np.ndarray]) -> str:
    truth = rows["truth"]
    lines = [
        "| depth map | levels | MAE (deg) | bias (deg) | r | MAE where truth >= 1 deg | r where truth >= 1 deg |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("surface", "sensor", "estimate"):
        if name not in rows:
            continue
        m = rows[name]
        ok = np.isfinite(m)
        big = ok & (np.abs(truth) >= 1.0)
        err = m - truth
        lines.append(
            f"| {name} | {ok.sum()} | {_mae(err[ok])} | {err[ok].mean():+.2f} | {_r(m[ok], truth[ok])} "
            f"| {_mae(err[big])} | {_r(m[big], truth[big])} |"
        )
    lines.append("")
    lines.append(
        f"Truth: mean |rotation| {np.abs(truth).mean():.2f} deg, largest {np.abs(truth).max():.2f} deg, "
        f"{(np.abs(truth) >= 1.0).mean():.0%} of the levels at least 1 deg."
    )
    if "estimate" in rows:
        both = np.isfinite(rows["estimate"]) & np.isfinite(rows["sensor"])
        d = np.abs(rows["estimate"] - truth)[both] - np.abs(rows["sensor"] - truth)[both]
        se = f"{d.std(ddof=1) / math.sqrt(len(d)):.2f}" if len(d) > 1 else "-"
        lines.append(
            f"Paired per level, |error| of the estimate minus that of the sensor: {d.mean():+.2f} ± {se} deg over "
            f"{len(d)} levels."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, required=True, help="a phantom folder with its datalist.json")
    parser.add_argument("--depth-bundle", type=Path, default=None, help="a trained depth bundle folder (optional)")
    parser.add_argument("--depth-overrides", default="{}", help="settings it was trained with, as JSON")
    parser.add_argument("--n", type=int, default=None, help="at most this many test photos")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    model = None
    if args.depth_bundle is not None:
        from monai_gamanet.inference.depth import DepthPredictor

        model = DepthPredictor.from_bundle(args.depth_bundle, json.loads(args.depth_overrides), args.device)
    text = table(measure(args.dataset, model, args.n))
    print(text)
    return text


if __name__ == "__main__":
    main()
