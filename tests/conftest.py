"""Shared fixtures: one small phantom dataset written to disk by the project's own generator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monai_gamanet.data.synthetic import generate_dataset

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
