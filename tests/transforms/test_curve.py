"""Curve transforms on MONAI tensors: points <-> band mask, and the curve JSON loader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from monai.transforms import Compose

from monai_gamanet.transforms import CurveToMaskd, LoadBackSampled, LoadCurved, MaskToCurved, load_curve


def test_points_mask_points_round_trip(phantom_dir: Path, datalist: dict) -> None:
    entry = {k: str(phantom_dir / v) for k, v in datalist["training"][1].items()}
    d = Compose(
        [
            LoadBackSampled(keys="label"),
            LoadCurved(),
            CurveToMaskd("curve", spatial_size=(240, 480), output_keys="curve_mask"),
            MaskToCurved("curve_mask", output_keys="traced"),
        ]
    )(entry)
    np.testing.assert_array_equal(d["curve_mask"].numpy(), d["label"].numpy())  # the written label, exactly
    traced, points = d["traced"], d["curve"]
    assert np.abs(traced[:, 0] - np.interp(traced[:, 1], points[:, 1], points[:, 0])).max() < 0.75
    assert d["curve_info"]["id"] == Path(entry["curve"]).stem


def test_load_curve_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_curve(tmp_path / "none.json")
    (tmp_path / "a.json").write_text("[1, 2")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_curve(tmp_path / "a.json")
    (tmp_path / "b.json").write_text(json.dumps({"cobb": 3}))
    with pytest.raises(ValueError, match="no 'points'"):
        load_curve(tmp_path / "b.json")
    (tmp_path / "c.json").write_text(json.dumps({"points": [[0, 5], [1, 2], [3, 1]]}))
    with pytest.raises(ValueError, match="c.json.*increasing y"):
        load_curve(tmp_path / "c.json")
