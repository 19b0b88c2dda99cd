"""Every registered depth network honours the contract and exports; a new registration is tested for free."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from monai_gamanet.networks import DEFAULT_OUTPUT_ACTIVATION, GAMANet, create_depth_network, list_depth_networks

INPUT = (1, 3, 96, 192)


@pytest.mark.parametrize("name", list_depth_networks())
def test_contract_and_torchscript(name: str) -> None:
    torch.manual_seed(0)
    net = create_depth_network(name).eval()
    x = torch.rand(*INPUT)
    with torch.inference_mode():
        y = net(x)
        scripted = torch.jit.script(net)
        y_script = scripted(x)
    assert y.shape == (1, 1, 96, 192)
    assert 0.0 <= float(y.min()) and float(y.max()) <= 1.0
    torch.testing.assert_close(y_script, y, atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", list_depth_networks())
def test_every_network_and_both_depth_configs_share_one_output_activation_default(name: str) -> None:
    from monai.bundle import ConfigParser

    assert create_depth_network(name).activation.kind == DEFAULT_OUTPUT_ACTIVATION == "sigmoid"
    configs = Path(__file__).parents[2] / "bundles/back_depth_estimation/configs"
    for config in ("train.yaml", "inference.yaml"):
        parser = ConfigParser()
        parser.read_config(configs / config)
        assert parser.get_parsed_content("output_activation") == DEFAULT_OUTPUT_ACTIVATION, config


def test_registry_knows_the_paper_networks() -> None:
    assert {"gamanet", "gamanet_pbha", "gamanet_amff", "gamanet_baseline", "fde", "fdsi", "unet"} <= set(
        list_depth_networks()
    )
    with pytest.raises(ValueError, match="unknown depth network 'gamanet2'.*gamanet"):
        create_depth_network("gamanet2")


def test_torchscript_file_round_trip(tmp_path: Path) -> None:
    net = GAMANet().eval()
    x = torch.rand(*INPUT)
    torch.jit.save(torch.jit.script(net), tmp_path / "gamanet.ts")
    loaded = torch.jit.load(tmp_path / "gamanet.ts")
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), net(x), atol=1e-4, rtol=0)


def test_onnx_export_matches_eager(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    net = GAMANet().eval()
    x = torch.rand(*INPUT)
    path = tmp_path / "gamanet.onnx"
    torch.onnx.export(net, (x,), str(path), input_names=["image"], output_names=["depth"], dynamo=True, verbose=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {"image": x.numpy()})[0]
    with torch.inference_mode():
        np.testing.assert_allclose(out, net(x).numpy(), atol=1e-4, rtol=0)
