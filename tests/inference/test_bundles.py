"""ReloadingModel: a served model loaded strictly, once per device, and again when its weights file changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from monai_gamanet.inference.bundles import ModelLoadError, ReloadingModel
from monai_gamanet.inference.depth import DepthPredictor
from monai_gamanet.networks import create_depth_network


def test_loaded_once_reloaded_after_a_swap_and_strict(tmp_path: Path) -> None:
    weights = tmp_path / "models" / "model.pt"
    weights.parent.mkdir()
    torch.manual_seed(0)
    torch.save(create_depth_network("gamanet", output_activation="sigmoid").state_dict(), weights)
    model = ReloadingModel(DepthPredictor.from_bundle, tmp_path, {"spatial_size": [24, 48]})
    first = model.get("cpu")
    assert model.get("cpu") is first  # cached while the file is unchanged
    new = create_depth_network("gamanet", output_activation="sigmoid").state_dict()
    tmp = weights.with_name(".new.pt")
    torch.save(new, tmp)
    os.replace(tmp, weights)  # swapped in atomically, as the app's trainer does
    second = model.get("cpu")
    assert second is not first
    assert torch.equal(next(iter(second.network.state_dict().values())), next(iter(new.values())))
    torch.save(create_depth_network("fde").state_dict(), weights)  # another network's weights
    assert model.get("cpu") is second  # strict: never half-loaded; the last good model keeps serving
    with pytest.raises(ModelLoadError, match="state_dict"):
        ReloadingModel(DepthPredictor.from_bundle, tmp_path, {"spatial_size": [24, 48]}).get(
            "cpu"
        )  # nothing good to keep
    assert not ReloadingModel(DepthPredictor.from_bundle, tmp_path / "nothing").available()


@pytest.mark.parametrize(
    "content",
    [b"", b"not weights at all", "legacy pickle", "truncated zip"],
    ids=["empty", "garbage", "legacy-pickle", "truncated"],
)
def test_a_bad_weights_file_is_a_named_error_and_keeps_the_good_model(tmp_path: Path, content) -> None:
    weights = tmp_path / "models" / "model.pt"
    weights.parent.mkdir()
    network = create_depth_network("gamanet", output_activation="sigmoid")
    torch.save(network.state_dict(), weights)
    good = ReloadingModel(DepthPredictor.from_bundle, tmp_path, {"spatial_size": [24, 48]})
    served = good.get("cpu")
    if content == "legacy pickle":
        torch.save(network, weights)  # a whole pickled module: refused by weights_only loading
    elif content == "truncated zip":
        weights.write_bytes(weights.read_bytes()[:5000])
    else:
        weights.write_bytes(content)
    assert good.get("cpu") is served  # a server keeps answering with the model that loaded
    with pytest.raises(ModelLoadError, match="cannot be loaded"):
        ReloadingModel(DepthPredictor.from_bundle, tmp_path, {"spatial_size": [24, 48]}).get("cpu")
