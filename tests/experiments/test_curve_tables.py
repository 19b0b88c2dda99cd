"""The Table 4 runner: the curve bundle on each input after the depth model (trained first, or one given), the tables
again from the saved runs."""

from __future__ import annotations

import json
from pathlib import Path

from experiments.curve_tables import main


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
    # the final network (the schedule's end) evaluated beside the best one, without training again
    log = (tmp_path / "t4" / "seed0" / "rgbd" / "log.txt").read_text()
    final = main([*args, "--model", "final", "--name", "final"])
    run = tmp_path / "t4" / "seed0" / "rgbd"
    assert (run / "eval_final" / "metrics.json").is_file() and (run / "eval" / "metrics.json").is_file()
    assert (run / "models" / "final.pt").is_file() and "the final model (end of the schedule)" in final
    assert "train_loss" not in (run / "log.txt").read_text()[len(log) :]  # evaluated, not trained again
    assert (
        main([*args, "--model", "final", "--tables-only", "--name", "again"]).split("## Budget")[0]
        == final.split("## Budget")[0]
    )
    # the same final network on held-out photos of another phantom stream: evaluated only, paired on them
    held_out = main([*args, "--model", "final", "--test-photos", "6", "--name", "heldout"])
    assert "6 held-out photos per seed (phantom seed S + 100,000)" in held_out
    assert len(json.loads((run / "eval_final_heldout6" / "metrics.json").read_text())["per_image"]) == 6
    assert (run / "eval_final" / "metrics.json").is_file()  # the test split's evaluation kept beside it
    assert "train_loss" not in (run / "log.txt").read_text()[len(log) :]
    folder = tmp_path / "t4" / "seed0" / "heldout"
    assert len(json.loads((folder / "datalist.json").read_text())["test"]) == 6
    assert len(list(folder.glob("depth_cache/estimated_*/*.png"))) == 6


def test_rows_without_estimated_depth_train_no_depth_model(tmp_path: Path) -> None:
    """RGB and sensor-depth rows only: the seed's phantom and its ground-truth D channel, no depth model."""
    from experiments.curve_tables import prepare_seed
    from experiments.spec import CurveRunSpec

    spec = CurveRunSpec(out=tmp_path / "t4", depth_out=tmp_path / "depth", samples=10, runs=("rgb", "rgbd_gt"))
    shared = prepare_seed(spec, 0)
    assert "depth_bundle_root" not in shared and not (tmp_path / "depth").exists()
    caches = list((tmp_path / "t4" / "seed0" / "phantom" / "depth_cache").glob("ground_truth_*"))
    assert len(caches) == 1 and len(list(caches[0].glob("*.png"))) == 10
