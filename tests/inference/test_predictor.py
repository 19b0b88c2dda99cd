"""The predictors' one way of loading a trained bundle: its own inference.yaml with the settings it was trained with,
the weights loaded strictly, eval mode on the chosen device, run in inference mode."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from monai.networks.nets import UNet

from monai_gamanet.inference.curve import CurvePredictor
from monai_gamanet.inference.depth import DepthPredictor
from monai_gamanet.inference.predictor import BundlePredictor


def _curve_bundle(root: Path, in_channels: int) -> Path:
    """A curve bundle folder holding a random-weight U-Net of the curve bundle's architecture."""
    (root / "models").mkdir(parents=True)
    torch.manual_seed(0)
    unet = UNet(2, in_channels, 2, channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2), num_res_units=2)
    torch.save(unet.state_dict(), root / "models" / "model.pt")
    return root


def _same_weights(network: torch.nn.Module, weights: Path) -> bool:
    saved = torch.load(weights, weights_only=True)
    return all(torch.equal(v, saved[k]) for k, v in network.state_dict().items())


def test_both_predictors_are_built_by_the_shared_loader(random_depth_bundle: Path, tmp_path: Path) -> None:
    depth = DepthPredictor.from_bundle(
        random_depth_bundle, {"output_activation": "clamp", "spatial_size": [24, 48]}, "cpu"
    )
    curve = CurvePredictor.from_bundle(
        _curve_bundle(tmp_path / "curve", 3), {"inputs": "rgb", "curve_decoding": "mask"}, torch.device("cpu")
    )
    for predictor, root in ((depth, random_depth_bundle), (curve, tmp_path / "curve")):
        assert isinstance(predictor, BundlePredictor) and predictor.device == torch.device("cpu")
        assert predictor.weights == root / "models" / "model.pt" and _same_weights(predictor.network, predictor.weights)
        assert not predictor.network.training and next(predictor.network.parameters()).device.type == "cpu"
        assert callable(predictor.preprocessing) and callable(predictor.inferer)
    assert (depth.network_name, depth.output_activation, depth.spatial_size) == ("gamanet", "clamp", (24, 48))
    assert depth.network.activation.kind == "clamp"  # the overrides built the network, not only the fields
    assert (curve.inputs, curve.decoding, curve.needs_depth) == ("rgb", "mask", False)
    out = curve._infer(torch.rand(2, 3, 32, 64))
    assert out.shape == (2, 2, 32, 64) and out.dtype == torch.float32 and torch.is_inference(out)


def test_missing_and_mismatched_weights_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no trained curve model at .*model.pt: train the spine_curve"):
        CurvePredictor.from_bundle(tmp_path / "nothing", device="cpu")
    with pytest.raises(FileNotFoundError, match="no trained depth model at .*: train the back_depth_estimation"):
        DepthPredictor.from_bundle(tmp_path / "nothing", device="cpu")
    rgbd = _curve_bundle(tmp_path / "rgbd", 4)
    with pytest.raises(RuntimeError, match="size mismatch"):  # strict: an RGBD model is not loaded as an RGB one
        CurvePredictor.from_bundle(rgbd, {"inputs": "rgb"}, "cpu")
    assert CurvePredictor.from_bundle(rgbd, {"inputs": "rgbd"}, "cpu").needs_depth
