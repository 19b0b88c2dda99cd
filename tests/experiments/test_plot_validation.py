"""Validation curves drawn from a bundle run's log, with recorded curves beside it."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from experiments import plot_validation

LOG = """2026-12-02 14:16:36,650 - INFO - Epoch[1] Metrics -- val_abs_rel: 0.3868 val_delta1: 0.5476
2026-12-02 14:21:41,827 - INFO - Epoch[2] Metrics -- val_abs_rel: 0.2098 val_delta1: 0.6786
"""


def test_a_run_and_a_recorded_curve_become_a_picture(tmp_path: Path) -> None:
    run = tmp_path / "lr_cosine_1e-3"
    run.mkdir()
    (run / "log.txt").write_text(LOG)
    out = tmp_path / "curves.png"
    args = [str(run), "--out", str(out), "--recorded", "constant 1e-4=0.66,0.68,0.67", "--goal", "0.762"]
    assert plot_validation.main(args) == 0
    picture = np.asarray(Image.open(out))
    assert picture.shape[0] > 300 and picture.shape[1] > 600 and picture.std() > 0
    with pytest.raises(SystemExit):  # a folder without a log: said, nothing drawn
        plot_validation.main([str(tmp_path), "--out", str(tmp_path / "none.png")])
    assert not (tmp_path / "none.png").exists()
    with pytest.raises(argparse.ArgumentTypeError, match="NAME=v1"):
        plot_validation.parse_recorded("0.66,0.68")
