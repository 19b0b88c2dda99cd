"""ReloadingModel: a served model loaded strictly, once per device, and again when its weights file changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from monai_gamanet.bundle_runner import ReloadingModel
from monai_gamanet.depth_cache import load_depth_model
from monai_gamanet.networks import create_depth_network


def test_loaded_once_reloaded_after_a_swap_and_strict(tmp_path: Path) -> None:
    weights = tmp_path / "models" / "model.pt"
    weights.parent.mkdir()
    torch.manual_seed(0)
    torch.save(create_depth_network("gamanet", output_activation="sigmoid").state_dict(), weights)
    model = ReloadingModel(load_depth_model, tmp_path, {"spatial_size": [24, 48]})
    first = model.get("cpu")
    assert model.get("cpu") is first  # cached while the file is unchanged
    new = create_depth_network("gamanet", output_activation="sigmoid").state_dict()
    tmp = weights.with_name(".new.pt")
    torch.save(new, tmp)
    os.replace(tmp, weights)  # swapped in atomically, as the app's trainer does
    second = model.get("cpu")
    assert second is not first
    assert torch.equal(next(iter(second["network"].state_dict().values())), next(iter(new.values())))
    torch.save(create_depth_network("fde").state_dict(), weights)  # another network's weights
    with pytest.raises(RuntimeError, match="state_dict"):
        model.get("cpu")  # strict: an error, never silently half-loaded
    assert not ReloadingModel(load_depth_model, tmp_path / "nothing").available()
