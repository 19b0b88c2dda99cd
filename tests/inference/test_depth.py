"""The depth predictor: one photo, a file or already loaded, -> its relative depth in [0, 1] at the photo's own
size and orientation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from monai.data import MetaTensor
from PIL import Image

from monai_gamanet.inference.chain import load_photo
from monai_gamanet.inference.depth import DepthPredictor, as_photo_item, photo_size

SMALL = {"spatial_size": [24, 48]}


class Brightness(torch.nn.Module):
    """Stands in for a depth network: the photo's mean brightness, times ``gain`` minus ``offset``."""

    def __init__(self, gain: float = 1.0, offset: float = 0.0) -> None:
        super().__init__()
        self.gain, self.offset = gain, offset

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gain * x.mean(1, keepdim=True) - self.offset


def test_a_file_and_the_loaded_photo_give_the_same_depth_at_the_photos_size(
    random_depth_bundle: Path, small_phantom_dir: Path
) -> None:
    photo = small_phantom_dir / "images" / "case_0000.png"
    predictor = DepthPredictor.from_bundle(random_depth_bundle, SMALL, "cpu")
    from_file, from_memory = predictor(photo), predictor(load_photo(photo))
    assert from_file.shape == (96, 192)  # (W, H) of a photo 96 wide and 192 high
    np.testing.assert_array_equal(from_file, from_memory)
    assert 0.0 <= from_file.min() and from_file.max() <= 1.0
    assert predictor.settings == {"network_name": "gamanet", "output_activation": "sigmoid", "spatial_size": [24, 48]}


def test_the_estimate_follows_the_photo_and_is_clipped_to_0_1(random_depth_bundle: Path, small_phantom_dir: Path):
    photo = small_phantom_dir / "images" / "case_0001.png"
    loaded = DepthPredictor.from_bundle(random_depth_bundle, SMALL, "cpu")
    brightness = dataclasses.replace(loaded, network=Brightness())
    depth = brightness(photo)
    grey = np.asarray(Image.open(photo), np.float64).mean(-1).T / 255.0  # (W, H)
    assert depth.shape == grey.shape and np.corrcoef(depth.ravel(), grey.ravel())[0, 1] > 0.9  # not mirrored
    steep = Brightness(gain=100.0, offset=100.0 * np.median(grey))  # far below 0 and above 1 on either half
    clipped = dataclasses.replace(loaded, network=steep)(photo)
    assert clipped.min() == 0.0 and clipped.max() == 1.0


def test_photo_items_keep_the_photos_own_size() -> None:
    assert as_photo_item(Path("/data/a.png")) == {"image": "/data/a.png"}
    item = as_photo_item(torch.zeros(3, 40, 80))
    assert isinstance(item["image"], MetaTensor) and photo_size(item["image"]) == (40, 80)
    resized = MetaTensor(torch.zeros(3, 20, 40), meta={"spatial_shape": np.array([40, 80])})
    assert photo_size(as_photo_item(resized)["image"]) == (40, 80)  # the loader's size is kept, not the tensor's
