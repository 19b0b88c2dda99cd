"""The curve predictor: the depth goes in as an array and gives the network exactly the input a cached depth PNG
gives; test-time flips and their disagreement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser

from monai_gamanet.inference.curve import FLIPS, curve_in_channels, curve_input_keys, curve_uncertainty
from monai_gamanet.inference.depth_cache import write_depth_png
from tests.stand_ins import CURVE_INFERENCE, GroundTruthCurve, PointwiseCurve, curve_predictor


def test_flip_uncertainty_is_zero_for_a_consistent_network_and_high_for_one_that_ignores_the_photo(
    tmp_path: Path, phantom_dir: Path, datalist: dict
) -> None:
    photo = phantom_dir / datalist["test"][0]["image"]
    consistent = curve_predictor(PointwiseCurve(3), tmp_path, "rgb", spatial_size=[64, 128])
    flipped = consistent.flip_probabilities(photo, None)
    assert flipped.shape == (len(FLIPS), 64, 128)
    assert curve_uncertainty(flipped) == pytest.approx(0.0, abs=1e-5)
    band = torch.zeros(64, 128)
    band[20:24, :] = 1.0  # a straight band off the middle: mirrored, it lands elsewhere
    blind = curve_predictor(GroundTruthCurve(band), tmp_path, "rgb", spatial_size=[64, 128])
    assert blind.uncertainty(photo, None) > 0.1  # two places, each seen by two of the four flips
    assert curve_uncertainty(np.zeros((4, 64, 128))) == 0.0  # no curve anywhere: nothing to disagree on


def test_in_memory_depth_is_the_input_a_cached_depth_png_gives(tmp_path: Path, phantom_dir: Path, datalist: dict):
    photo = phantom_dir / datalist["test"][0]["image"]
    rng = np.random.default_rng(0)
    depth = rng.random((240, 480)).astype(np.float32)  # (W, H) at the photo's size
    png = tmp_path / "depth.png"
    write_depth_png(png, depth)
    predictor = curve_predictor(PointwiseCurve(4), tmp_path, "rgbd", spatial_size=[64, 128])
    from_array = predictor._image(photo, depth)
    parser = ConfigParser()
    parser.read_config(str(CURVE_INFERENCE))
    parser.update({"bundle_root": str(tmp_path), "spatial_size": [64, 128]})
    from_file = parser.get_parsed_content("preprocessing")({"image": str(photo), "depth_relative": str(png)})["image"]
    assert from_array.shape == (4, 64, 128)
    assert torch.equal(from_array.as_tensor(), from_file.as_tensor())
    probability = predictor.probability(photo, depth)
    assert probability.shape == (240, 480) and 0.0 <= probability.min() <= probability.max() <= 1.0


def test_an_rgbd_model_without_depth_and_unknown_inputs_are_clear_errors(tmp_path: Path, phantom_dir: Path) -> None:
    predictor = curve_predictor(PointwiseCurve(4), tmp_path, "rgbd", spatial_size=[64, 128])
    with pytest.raises(ValueError, match="needs the photo's estimated depth"):
        predictor.probability(phantom_dir / "images" / "case_0000.png", None)
    assert curve_input_keys("rgbd") == ["image", "depth_relative"] and curve_in_channels("rgbd") == 4
    assert curve_in_channels("rgb") == 3 and curve_in_channels("depth") == 1
    with pytest.raises(ValueError, match="unknown curve inputs 'rgbdd'"):
        curve_in_channels("rgbdd")
