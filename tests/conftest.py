"""Shared fixtures: one small phantom dataset written to disk by the project's own generator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monai_gamanet.data.synthetic import generate_dataset, generate_sample

N_SAMPLES = 10
SEED = 7


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10-sample phantom dataset at the paper's size (480 x 240), seed 7, with its preview."""
    out = tmp_path_factory.mktemp("phantom")
    generate_dataset(out, N_SAMPLES, seed=SEED, workers=1)
    return out


@pytest.fixture(scope="session")
def small_phantom_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-sample phantom at 192 x 96 (photos 96 wide), seed 3, no preview: cases 0 and 1 hold a C curve, 2 and 3
    a straight back. For the inference tests, which run at small working sizes."""
    out = tmp_path_factory.mktemp("small_phantom")
    generate_dataset(out, 4, seed=3, height=192, width=96, workers=1, preview=False)
    return out


@pytest.fixture(scope="session")
def datalist(phantom_dir: Path) -> dict:
    return json.loads((phantom_dir / "datalist.json").read_text())


@pytest.fixture(scope="session")
def curve_docs(phantom_dir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((phantom_dir / "curves").glob("*.json"))]


@pytest.fixture(scope="session")
def random_depth_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A depth bundle folder holding a random-weight GAMA-Net (sigmoid head): the estimated-depth path of the curve
    stage without training the depth model first."""
    import torch

    from monai_gamanet.networks import create_depth_network

    root = tmp_path_factory.mktemp("depth_bundle")
    (root / "models").mkdir()
    torch.save(create_depth_network("gamanet", output_activation="sigmoid").state_dict(), root / "models" / "model.pt")
    return root


def _random_curve_bundle(root: Path, in_channels: int) -> Path:
    """``root`` as a curve bundle folder holding a random-weight U-Net of the bundle's architecture."""
    import torch
    from monai.networks.nets import UNet

    (root / "models").mkdir(parents=True)
    unet = UNet(2, in_channels, 2, channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2), num_res_units=2)
    torch.save(unet.state_dict(), root / "models" / "model.pt")
    return root


@pytest.fixture(scope="session")
def random_curve_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A curve bundle folder holding a random-weight RGBD U-Net of the bundle's architecture."""
    return _random_curve_bundle(tmp_path_factory.mktemp("curve_bundle"), 4)


@pytest.fixture(scope="session")
def random_rgb_curve_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same with an RGB-only U-Net (3 input channels)."""
    return _random_curve_bundle(tmp_path_factory.mktemp("rgb_curve_bundle"), 3)


@pytest.fixture(scope="session")
def phantom_visits() -> dict:
    """One phantom back with a C curve of 15-35 deg (seed 3, 240 x 120): its first visit, another photo of it
    unchanged (capture 1), and a later visit with the major curve 10 deg larger (capture 2)."""
    size = {"height": 240, "width": 120}
    index = next(
        i
        for i in range(60)
        if (doc := generate_sample(i, 3, **size).curve)["curve_type"] == "C" and 15 <= doc["major_cobb_deg"] <= 35
    )
    return {
        "first": generate_sample(index, 3, **size),
        "unchanged": generate_sample(index, 3, capture=1, **size),
        "progressed": generate_sample(index, 3, capture=2, added_cobb_deg=10.0, **size),
    }
