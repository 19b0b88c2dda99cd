"""Every registered depth network honours the contract and exports; a new registration is tested for free."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from monai_gamanet.networks import GAMANet, create_depth_network, list_depth_networks

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


def test_registry_knows_the_paper_networks() -> None:
    assert {"gamanet", "gamanet_pbha", "gamanet_amff", "gamanet_baseline", "fde", "fdsi", "unet"} <= set(
        list_depth_networks()
    )
    with pytest.raises(ValueError, match="unknown depth network 'gamanet2'.*gamanet"):
        create_depth_network("gamanet2")


def test_parameter_counts_match_the_descriptions() -> None:
    count = lambda n: sum(p.numel() for p in create_depth_network(n).parameters()) / 1e6  # noqa: E731
    assert 12.0 < count("fde") < 14.5  # PEERS.md: about 13 M
    assert 10.5 < count("fdsi") < 12.5  # about 11.5 M


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
