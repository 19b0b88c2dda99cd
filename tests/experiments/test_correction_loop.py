"""The correction loop, end to end at a tiny size: a real Label server driven by MONAI Label's client, the app's
label save and training, the served model measured after each round, resumable; the summary's arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments import correction_loop as loop


def test_two_rounds_through_the_server_then_resumed(tmp_path: Path, random_depth_bundle: Path) -> None:
    out = tmp_path / "loop"
    args = ["--out", str(out), "--depth-bundle", str(random_depth_bundle)]
    args += ["--depth-overrides", '{"spatial_size": [24, 48]}', "--size", "96", "48", "--seeds", "3"]
    args += ["--strategies", "curve_uncertainty", "--rounds", "1", "--k", "2", "--initial", "2", "--pool", "5"]
    args += ["--test", "3", "--initial-epochs", "1", "--round-epochs", "1", "--jobs", "1"]
    assert loop.main(args) == 0
    run = out / "seed3" / "curve_uncertainty"
    rounds = [json.loads(line) for line in (run / "rounds.jsonl").read_text().splitlines()]
    assert [r["round"] for r in rounds] == [0, 1] and [r["labelled"] for r in rounds] == [2, 4]
    for r in rounds:
        assert r["test_photos"] == 3 and 0 <= r["redraw_share"] <= 1 and 0 <= r["dice"] <= 1
    labels = sorted(p.stem for p in (run / "studies" / "labels" / "final").glob("*.png"))
    assert len(labels) == 4 and (run / "scored").is_file()  # saved through the server; scored before round 1
    assert (out / "loop.md").read_text().startswith("| strategy | round | labelled |")
    # given again, the finished run is read back, not run again
    before = (run / "rounds.jsonl").read_text()
    assert loop.main(args) == 0 and (run / "rounds.jsonl").read_text() == before


def test_the_summary_pairs_uncertainty_with_random_by_seed_and_round() -> None:
    rows = []
    for seed in (0, 1):
        for r, (rand, unc) in enumerate([(8.0, 8.0), (7.0, 6.0), (6.5, 5.0)]):
            for strategy, mae in (("random", rand), ("curve_uncertainty", unc + 0.1 * seed)):
                rows.append(
                    {
                        "seed": seed,
                        "strategy": strategy,
                        "round": r,
                        "labelled": 8 + 4 * r,
                        "cobb_mae_deg": mae,
                        "severity_accuracy": 0.5,
                        "dice": 0.3,
                        "redraw_share": 0.4,
                        "uncertainty_r": None,
                    }
                )
    summary = loop.summarise(rows)
    assert summary["paired"]["n"] == 4  # rounds 1 and 2 of both seeds (round 0 is the shared start)
    assert summary["paired"]["mean_deg"] == pytest.approx(((-1.0 - 1.5) + (-0.9 - 1.4)) / 4)
    assert summary["photos_to_goal"]["curve_uncertainty"] == {"6.0": 16.0, "4.0": None}  # 6.05 at round 1
    assert summary["photos_to_goal"]["random"] == {"6.0": None, "4.0": None}
    assert "curve_uncertainty beats random" in loop.table(summary)
