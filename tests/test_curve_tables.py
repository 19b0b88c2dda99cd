"""The Table 4 runner: the curve bundle on each input, paired per-image comparisons, the goals said met or missed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from monai_gamanet.curve_tables import goals, main, paired_rows, write_tables


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
    assert "RGBD >= RGB >= depth on Dice: met" in text and "Cobb MAE <= 3 deg with RGBD: met (1.67)" in text
    assert "Severity accuracy >= 90% with RGBD: met (100.0%)" in text
    mean = {"rgbd": {"iou": 0.3, "dice": 0.5, "cobb_mae": 4.0, "severity_accuracy": 0.8}}
    mean |= {"rgb": {"iou": 0.4, "dice": 0.6}, "depth": {"iou": 0.1, "dice": 0.2}}
    said = goals(mean, {})
    assert said[0].startswith("RGBD >= RGB >= depth on IoU: MISSED") and "MISSED (4.00)" in said[2]
    assert "MISSED (80.0%)" in said[3]
