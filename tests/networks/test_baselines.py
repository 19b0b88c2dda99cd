"""The Table 3 baselines FDE and FDSI: the photo's size back whatever its size, RGBD input, FDE's skips as
described, and every parameter trained."""

from __future__ import annotations

import pytest
import torch

from monai_gamanet.networks.baselines import FDE, FDSI


@pytest.mark.parametrize("network", [FDE, FDSI])
def test_depth_at_the_input_size_for_any_size_and_four_input_channels(network: type) -> None:
    torch.manual_seed(0)
    net = network(in_channels=4, output_activation="sigmoid").eval()
    with torch.inference_mode():
        y = net(torch.rand(2, 4, 50, 90))  # not a multiple of the encoders' stride 32
    assert y.shape == (2, 1, 50, 90) and 0.0 < float(y.min()) and float(y.max()) < 1.0


def test_fde_takes_its_skips_at_strides_2_to_32_with_the_described_channels() -> None:
    net = FDE().eval()
    seen = {}
    hooks = [net.features[k].register_forward_hook(lambda m, i, o, k=k: seen.update({k: o.shape})) for k in FDE.SKIPS]
    try:
        with torch.inference_mode():
            net(torch.rand(1, 3, 64, 128))
    finally:
        for hook in hooks:
            hook.remove()
    assert [seen[k][1] for k in FDE.SKIPS] == list(FDE.SKIP_CHANNELS)
    assert [64 // seen[k][2] for k in FDE.SKIPS] == [2, 4, 8, 16, 32, 32]


@pytest.mark.parametrize("network", [FDE, FDSI])
def test_every_parameter_gets_a_gradient(network: type) -> None:
    torch.manual_seed(0)
    net = network(output_activation="none").train()
    net(torch.rand(2, 3, 64, 32)).mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert not missing, missing


def test_parameter_counts_match_the_descriptions() -> None:
    count = lambda net: sum(p.numel() for p in net.parameters()) / 1e6  # noqa: E731
    assert 12.0 < count(FDE()) < 14.5  # PEERS.md: about 13 M
    assert 10.5 < count(FDSI()) < 12.5  # about 11.5 M
