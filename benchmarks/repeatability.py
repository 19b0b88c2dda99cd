"""Repeatability of the pipeline: one back photographed several times, its Cobb angle and surface rotation each time.

    python benchmarks/repeatability.py --depth-bundle DEPTH --curve-bundle RGBD_CURVE [--rgb-curve-bundle RGB_CURVE] \\
        [--depth-overrides JSON] [--curve-overrides JSON] --backs 30 --captures 5 [--size 240 120] [--record]

Each of ``--backs`` phantom backs (seed ``--seed``, not a training seed) is photographed ``--captures`` times:
capture 0 is the sample itself, capture k another session of the same patient
(:func:`monai_gamanet.data.synthetic.generate_sample`'s ``capture``: the patient stands again, sway and shoulder
tilt within +-2 degrees, camera distance +-10 %, under another light within the clinic's ranges, another exposure
and sensor noise). The whole chain (:class:`monai_gamanet.inference.chain.SpineChain`: estimated depth, curve,
centre line, morphology) runs on every photo, once per curve model given (RGBD with the estimated depth; RGB alone
when ``--rgb-curve-bundle`` is given: the paper's claim that depth makes the estimate robust to the lighting,
measured).

Printed, per model: photos with a curve found; the within-back standard deviation of the major Cobb angle (pooled:
the root of the mean per-back variance over the backs with at least two curves found), the smallest detectable
change ``1.96 x sqrt(2) x SD`` (:func:`monai_gamanet.metrics.progression.smallest_detectable_change`; the goal is
at most 5 degrees, the change radiographs call progression); the Cobb MAE against the truth; the within-back SD
of the surface rotation per level (the estimated depth mapped to millimetres by each capture's own depth range);
and what moves the angle: the correlation of a capture's deviation from its back's mean Cobb with its deviation in
light azimuth, light elevation, sway (coronal imbalance), shoulder tilt and camera distance. ``--record`` writes
the RGBD figures as the curve bundle's ``models/repeatability.json`` (:mod:`monai_gamanet.io.repeatability`),
which the pipeline's ``--compare`` then uses for its interval.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from monai_gamanet.data.synthetic import generate_sample
from monai_gamanet.inference.chain import SpineChain
from monai_gamanet.inference.curve import CurvePredictor
from monai_gamanet.inference.depth import DepthPredictor
from monai_gamanet.io.repeatability import RECORD_NAME, write_record
from monai_gamanet.metrics.levels import LEVELS
from monai_gamanet.metrics.progression import smallest_detectable_change

logger = logging.getLogger("benchmarks.repeatability")

# what differs between two captures of one back, read from the curve JSON's generator block
FACTORS = {
    "light azimuth": ("photo", "light_azimuth_deg"),
    "light off-axis": ("photo", "light_off_axis_deg"),
    "sway": ("parameters", "imbalance_mm"),
    "shoulder tilt": ("parameters", "shoulder_drop_mm"),
    "distance": ("parameters", "distance_mm"),
}


def within_sd(values: np.ndarray) -> tuple[float, int]:
    """Pooled within-back standard deviation of ``values`` (backs, captures; NaN = not measured) and the number of
    backs it pools (those with at least two measured captures)."""
    values = np.asarray(values, dtype=np.float64)
    variances = [row[np.isfinite(row)].var(ddof=1) for row in values if np.isfinite(row).sum() >= 2]
    return (math.sqrt(float(np.mean(variances))), len(variances)) if variances else (float("nan"), 0)


def measure(chains: dict[str, SpineChain], backs: int, captures: int, seed: int, size: tuple[int, int]) -> dict:
    """Every model's major Cobb angle (backs, captures), surface rotation (backs, captures, levels) and the truth,
    with the factors of each capture; NaN where no curve was found."""
    shape = (backs, captures)
    out = {
        "truth": np.full(shape, np.nan),
        "factors": {name: np.full(shape, np.nan) for name in FACTORS},
        "models": {
            name: {"cobb": np.full(shape, np.nan), "rotation": np.full((*shape, len(LEVELS)), np.nan)}
            for name in chains
        },
    }
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        for b in range(backs):
            for k in range(captures):
                sample = generate_sample(b, seed, *size, capture=k)
                photo = Path(folder) / f"back{b:03d}_capture{k}.png"
                Image.fromarray(sample.image).save(photo)
                generator = sample.curve["generator"]
                out["truth"][b, k] = sample.curve["major_cobb_deg"]
                for name, (block, key) in FACTORS.items():
                    out["factors"][name][b, k] = float(generator[block][key])
                valid = sample.depth[sample.depth > 0]
                depth_range = float(valid.max() - valid.min())
                for name, chain in chains.items():
                    report = chain(photo, photo.stem, sample.curve["pixel_spacing_mm"], depth_range).report
                    if report.get("curve_found"):
                        out["models"][name]["cobb"][b, k] = report["major_cobb_deg"]
                        rotation = report["surface_rotation_deg"]
                        out["models"][name]["rotation"][b, k] = [rotation.get(lvl, np.nan) for lvl in LEVELS]
            logger.info("back %d/%d measured (%.0f s)", b + 1, backs, time.monotonic() - start)
    return out


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or a[ok].std() == 0 or b[ok].std() == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _centred(values: np.ndarray) -> np.ndarray:
    """Each capture's deviation from its back's mean over the measured captures."""
    return values - np.nanmean(np.where(np.isfinite(values), values, np.nan), axis=1, keepdims=True)


def figures(results: dict) -> dict[str, dict]:
    """Per model: the numbers of the table (plain Python types)."""
    out = {}
    truth = results["truth"]
    for name, m in results["models"].items():
        sd, pooled = within_sd(m["cobb"])
        rot = m["rotation"]
        rot_sd = [within_sd(rot[:, :, j])[0] for j in range(rot.shape[2])]
        deviation = _centred(m["cobb"])
        factors = {f: _correlation(np.abs(deviation), np.abs(_centred(v))) for f, v in results["factors"].items()}
        found = np.isfinite(m["cobb"])
        out[name] = {
            "photos": int(found.size),
            "curve_found": int(found.sum()),
            "backs_pooled": pooled,
            "cobb_within_sd_deg": round(sd, 3),
            "cobb_sdc_deg": round(smallest_detectable_change(sd), 3) if math.isfinite(sd) else None,
            "cobb_mae_deg": round(float(np.abs(m["cobb"] - truth)[found].mean()), 3) if found.any() else None,
            "truth_within_sd_deg": round(within_sd(truth)[0], 3),
            "rotation_within_sd_deg": round(float(np.nanmean(rot_sd)), 3) if np.isfinite(rot_sd).any() else None,
            "factor_r": {f: None if math.isnan(r) else round(r, 3) for f, r in factors.items()},
        }
    return out


def table(stats: dict[str, dict], backs: int, captures: int) -> str:
    head = (
        "| model | curve found | backs pooled | Cobb within-back SD | SDC (95 %) | Cobb MAE | rotation within-back SD |"
    )
    lines = [head, "|---|---|---|---|---|---|---|"]
    for name, s in stats.items():
        sdc = "-" if s["cobb_sdc_deg"] is None else f"{s['cobb_sdc_deg']:.2f}"
        mae = "-" if s["cobb_mae_deg"] is None else f"{s['cobb_mae_deg']:.2f}"
        rot = "-" if s["rotation_within_sd_deg"] is None else f"{s['rotation_within_sd_deg']:.2f}"
        lines.append(
            f"| {name} | {s['curve_found']}/{s['photos']} | {s['backs_pooled']} | {s['cobb_within_sd_deg']:.2f} "
            f"| {sdc} | {mae} | {rot} |"
        )
    lines += ["", f"{backs} backs x {captures} captures; angles in degrees. The truth's own within-back SD: "]
    lines[-1] += f"{next(iter(stats.values()))['truth_within_sd_deg']:.2f} (the true curve does not change)."
    lines += ["", "What moves the Cobb angle: r of |deviation from the back's mean| with |the factor's deviation|:", ""]
    lines += ["| model | " + " | ".join(FACTORS) + " |", "|---|" + "---|" * len(FACTORS)]
    for name, s in stats.items():
        cells = ["-" if s["factor_r"][f] is None else f"{s['factor_r'][f]:+.2f}" for f in FACTORS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--depth-bundle", type=Path, default=None, help="default: bundles/back_depth_estimation")
    parser.add_argument("--curve-bundle", type=Path, default=None, help="RGBD curve bundle (default: the shipped)")
    parser.add_argument("--rgb-curve-bundle", type=Path, default=None, help="an RGB-only curve bundle to compare")
    parser.add_argument("--depth-overrides", type=json.loads, default=None)
    parser.add_argument("--curve-overrides", type=json.loads, default=None)
    parser.add_argument("--backs", type=int, default=30)
    parser.add_argument("--captures", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1000, help="phantom seed of the backs (not a training seed)")
    parser.add_argument("--size", type=int, nargs=2, default=(240, 120), metavar=("H", "W"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--record", action="store_true", help="write the RGBD figures into the curve bundle")
    parser.add_argument("--output", type=Path, default=None, help="also write the table and figures (JSON) here")
    args = parser.parse_args(argv)
    if args.backs < 2 or args.captures < 2:
        parser.error("repeatability needs at least 2 backs and 2 captures of each")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    depth = DepthPredictor.from_bundle(args.depth_bundle, args.depth_overrides, args.device)
    rgbd = CurvePredictor.from_bundle(args.curve_bundle, args.curve_overrides, args.device)
    chains = {f"{rgbd.inputs.upper()} curve": SpineChain(depth, rgbd)}
    if args.rgb_curve_bundle is not None:
        if rgbd.inputs != "rgbd":
            parser.error(f"--curve-bundle must be an RGBD model to compare with RGB; it takes {rgbd.inputs}")
        rgb_overrides = {**(args.curve_overrides or {}), "inputs": "rgb"}  # a bundle folder does not record it
        rgb = CurvePredictor.from_bundle(args.rgb_curve_bundle, rgb_overrides, args.device)
        chains[f"{rgb.inputs.upper()} curve"] = SpineChain(depth, rgb)
    stats = figures(measure(chains, args.backs, args.captures, args.seed, tuple(args.size)))
    text = table(stats, args.backs, args.captures)
    print(text)
    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        (args.output / "repeatability.md").write_text(text + "\n")
        (args.output / "repeatability.json").write_text(json.dumps(stats, indent=1))
    if args.record:
        first = next(iter(stats.values()))
        if first["cobb_sdc_deg"] is None:
            parser.error("no back had a curve found twice: nothing to record")
        record = {**first, "backs": args.backs, "captures": args.captures, "seed": args.seed, "size": args.size}
        path = write_record(rgbd.weights.parent / RECORD_NAME, record, depth.weights, rgbd.weights)
        logger.info("recorded %s", path)
    return text


if __name__ == "__main__":
    main()
