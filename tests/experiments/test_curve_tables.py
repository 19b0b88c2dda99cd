"""The Table 4 runner: the curve bundle on each input, paired per-image comparisons, the goals said met or missed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from experiments.curve_tables import goals, main, paired_rows, write_tables


def test_tiny_table4_through_both_bundles(tmp_path: Path) -> None:
    """A depth model trained first (missing), its estimate cached once, two inputs trained and evaluated."""
    args = ["--out", str(tmp_path / "t4"), "--depth-out", str(tmp_path / "depth"), "--samples", "20"]
    args += ["--runs", "rgb", "depth", "--epochs", "1", "--depth-epochs", "1", "--size", "32", "16"]
    args += ["--depth-size", "48", "24", "--batch", "4", "--jobs", "2"]
    text = main(args)
    assert "| RGB only |" in text and "| Estimated depth only |" in text and "RGBD (RGB" not in text
    assert "| rgb - depth |" in text  # paired on the same test photos although depth-only rows name a depth PNG
    saved = json.loads((tmp_path / "t4" / "table4.json").read_text())  # strict JSON (NaN written as null)
    assert set(saved["mean"]) == {"rgb", "depth"}
    assert saved["paired"]["rgb - depth"]["dice"][2] == 2  # the 2 test photos of the 20
    assert (tmp_path / "depth" / "seed0" / "gamanet" / "models" / "model.pt").is_file()
    caches = list((tmp_path / "t4" / "seed0" / "phantom" / "depth_cache").glob("estimated_*"))
    assert len(caches) == 1 and len(list(caches[0].glob("*.png"))) == 20
    log = (tmp_path / "t4" / "seed0" / "rgb" / "log.txt").read_text()
    again = main([*args, "--tables-only", "--name", "again"])  # from the saved runs: nothing trained again
    assert again.split("## Budget")[0] == text.split("## Budget")[0]
    assert (tmp_path / "t4" / "seed0" / "rgb" / "log.txt").read_text() == log


def test_one_trained_depth_model_for_every_seed(tmp_path: Path, random_depth_bundle: Path) -> None:
    """--depth-bundle: the given model's estimate is cached and used; no depth model is trained per seed."""
    args = ["--out", str(tmp_path / "t4"), "--depth-out", str(tmp_path / "depth"), "--samples", "20"]
    args += ["--runs", "rgbd", "--epochs", "1", "--size", "32", "16", "--batch", "4"]
    args += ["--depth-bundle", str(random_depth_bundle), "--depth-overrides", '{"spatial_size": [48, 96]}']
    text = main(args)
    assert "| RGBD (RGB + estimated depth; the paper's) |" in text and f"`{random_depth_bundle}` for every seed" in text
    assert not (tmp_path / "depth").exists()
    caches = list((tmp_path / "t4" / "seed0" / "phantom" / "depth_cache").glob("estimated_*"))
    assert len(caches) == 1 and len(list(caches[0].glob("*.png"))) == 20


def _metrics(dice: list[float], cobb: list[float | None], severity_right: list[bool]) -> dict:
    rows = []
    for i, (d, c, ok) in enumerate(zip(dice, cobb, severity_right, strict=True)):
        row = {"image": f"/x/images/case_{i}.png", "label": f"/x/labels/case_{i}.png", "dice": d, "iou": d / 2}
        row |= {"true_major_cobb_deg": 20.0, "true_severity": "moderate", "true_curve_type": "C"}
        if c is not None:
            row |= {"major_cobb_deg": c, "severity": "moderate" if ok else "severe", "curve_type": "C"}
        rows.append(row)
    found = [abs(c - 20.0) for c in cobb if c is not None]
    metrics = {"dice": sum(dice) / len(dice), "iou": sum(dice) / len(dice) / 2, "cobb_mae": sum(found) / len(found)}
    metrics |= {"severity_accuracy": sum(severity_right) / len(dice), "cobb_r": None, "no_curve_found": 0.0}
    return {"name": "x", "metrics": metrics, "per_image": rows}


def test_paired_rows_goals_and_tables(tmp_path: Path) -> None:
    rgbd = _metrics([0.9, 0.8, 0.7], [21.0, 18.0, 22.0], [True, True, True])
    rgb = _metrics([0.8, 0.7, 0.7], [25.0, None, 22.0], [True, False, False])
    depth = _metrics([0.5, 0.5, 0.5], [30.0, 30.0, 30.0], [False, False, False])
    rows = paired_rows(rgb)
    assert rows["case_1.png"] == {"dice": 0.7, "iou": 0.35, "severity_correct": 0.0, "curve_type_correct": 0.0}
    assert rows["case_0.png"]["cobb_error"] == 5.0
    args = argparse.Namespace(out=tmp_path, name="t", epochs=1, batch=8, size=(32, 16), samples=30, jobs=1)
    vars(args).update(depth_out=Path("d"), depth_epochs=1, depth_size=(48, 24), depth_settings="recorded")
    text = write_tables(tmp_path, {0: {"rgbd": rgbd, "rgb": rgb, "depth": depth}}, args, 1.0)
    saved = json.loads((tmp_path / "t.json").read_text())
    dice, n = saved["paired"]["rgbd - rgb"]["dice"][0], saved["paired"]["rgbd - rgb"]["dice"][2]
    assert abs(dice - 0.2 / 3) < 1e-9 and n == 3
    cobb = saved["paired"]["rgbd - rgb"]["cobb_error"]  # only the 2 photos where both found a curve
    assert cobb[2] == 2 and abs(cobb[0] - ((1 - 5) + (2 - 2)) / 2) < 1e-9
    assert "better than RGB on Dice, paired, beyond 2 SE: MISSED" in text  # +0.067 ± 0.033: not beyond 2 SE
    assert "Cobb MAE <= 4 deg with RGBD (RGB + estimated depth; the paper's): met (1.67)" in text
    assert "Severity accuracy >= 85% with RGBD: met (100.0%)" in text
    # Bland-Altman over the found curves: rgbd's errors +1, -2, +2 -> bias +0.33, SD 2.08
    assert saved["bland_altman"]["rgbd"]["photos"] == 3 and abs(saved["bland_altman"]["rgbd"]["bias"] - 1 / 3) < 1e-9
    assert abs(saved["bland_altman"]["rgbd"]["upper"] - (1 / 3 + 1.96 * 2.0816659994661326)) < 1e-9
    assert "| RGB only | +3.50 |" in text  # rgb's two found curves: +5 and +2
    mean = {"rgbd": {"cobb_mae": 4.5, "severity_accuracy": 0.8}, "rgbd_gt": {"cobb_mae": 2.5}}
    paired = {("rgbd", "rgb"): {"dice": (0.05, 0.01, 80), "cobb_error": (-0.5, 0.3, 70)}}
    said = goals(mean, paired)
    assert said[0].endswith("on Dice, paired, beyond 2 SE: met (+0.050 ± 0.010 over 80 photos).")
    assert "on Cobb error, paired, beyond 2 SE: MISSED (-0.500 ± 0.300 over 70 photos)" in said[1]
    assert "with RGBD (RGB + estimated depth; the paper's): MISSED (4.50)" in said[2] and "met (2.50)" in said[3]
    assert "MISSED (80.0%)" in said[4]
