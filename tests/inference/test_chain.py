"""The chain on one photo: a photo read once, the depth estimated only when the curve model takes it (or handed
in), the curve probability measured into the report, the two Slicer curves and the label."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from monai_gamanet.inference.chain import CurveResult, SpineChain, describe_curve, load_photo
from tests.stand_ins import GroundTruthCurve, curve_predictor


def _truth(phantom: Path, case: str) -> tuple[np.ndarray, dict]:
    """The phantom's curve label (W, H) as a probability, and its truth."""
    label = np.asarray(Image.open(phantom / "labels" / f"{case}.png")).T.astype(np.float32)
    return label, json.loads((phantom / "curves" / f"{case}.json").read_text())


class CountingDepth:
    """Stands in for the depth predictor: a flat relative depth at the photo's size; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, photo: torch.Tensor) -> np.ndarray:
        self.calls += 1
        return np.full(tuple(photo.shape[1:]), 0.5, np.float32)


def test_load_photo(small_phantom_dir: Path, tmp_path: Path) -> None:
    path = small_phantom_dir / "images" / "case_0000.png"
    photo = load_photo(path)
    assert tuple(photo.shape) == (3, 96, 192)  # (C, W, H)
    np.testing.assert_array_equal(photo.numpy().transpose(2, 1, 0), np.asarray(Image.open(path)))
    with pytest.raises(FileNotFoundError, match="'image' file not found"):  # unreadable files: transforms/test_io.py
        load_photo(tmp_path / "missing.png")


@pytest.mark.parametrize("decoding", ["probability", "mask"])
def test_a_curved_back_is_measured_into_report_markups_and_label(small_phantom_dir: Path, decoding: str) -> None:
    probability, truth = _truth(small_phantom_dir, "case_0000")
    depth = np.full(probability.shape, 0.5, np.float32)
    report, flat, surface, label = describe_curve(
        probability, depth, "case_0000", truth["pixel_spacing_mm"], 90.0, decoding
    )
    assert report["curve_found"] and report["curve_type"] == truth["curve_type"] == "C"
    assert report["major_cobb_deg"] == pytest.approx(truth["major_cobb_deg"], abs=2.0)
    assert report["surface_rotation_rms_deg"] == pytest.approx(0.0, abs=1e-6)  # a flat depth: no rotation
    assert flat["markups"][0]["type"] == "Curve" and surface["markups"][0]["type"] == "Curve"
    labels = [p["label"] for p in flat["markups"][0]["controlPoints"]]
    assert labels[0] == "C7" and labels[-1] == "L5" and set(report["surface_rotation_deg"]) <= set(labels)
    assert label.shape == probability.shape and label.dtype == np.uint8 and set(np.unique(label)) == {0, 1}
    if decoding == "mask":
        np.testing.assert_array_equal(label, probability > 0.5)
    else:  # the band along the decoded line: about where the truth's band is
        assert (label & (probability > 0.5)).sum() > 0.5 * (probability > 0.5).sum()


def test_no_curve_found_is_said_plainly(small_phantom_dir: Path) -> None:
    nothing = np.zeros((96, 192), np.float32)
    report, flat, surface, label = describe_curve(nothing, nothing, "case_0002")
    assert report["curve_found"] is False and report["reason"]
    assert flat is None and surface is None and label.shape == (96, 192) and not label.any()


def test_the_depth_is_estimated_only_when_needed_and_never_twice(small_phantom_dir: Path, tmp_path: Path) -> None:
    probability, truth = _truth(small_phantom_dir, "case_0001")
    photo = small_phantom_dir / "images" / "case_0001.png"
    band = torch.from_numpy(probability)
    for inputs in ("rgb", "rgbd"):
        depth = CountingDepth()
        chain = SpineChain(depth, curve_predictor(GroundTruthCurve(band), tmp_path, inputs, spatial_size=[96, 192]))
        assert (chain.depth_for_curve(load_photo(photo)) is None) == (inputs == "rgb")
        depth.calls = 0
        given = np.full((96, 192), 0.25, np.float32)
        result = chain(photo, "case_0001", truth["pixel_spacing_mm"], depth=given)
        assert isinstance(result, CurveResult) and depth.calls == 0 and result.depth is given  # handed in: used
        result = chain(load_photo(photo), "case_0001", truth["pixel_spacing_mm"])
        assert depth.calls == 1  # the report's surface rotation needs the depth, whatever the curve model takes
        assert result.report["curve_found"] and result.report["curve_type"] == truth["curve_type"]
        assert result.probability.shape == result.label.shape == result.depth.shape == (96, 192)
        assert result.flat is not None and result.surface is not None
