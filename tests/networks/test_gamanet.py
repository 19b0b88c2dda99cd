"""GAMA-Net: shapes, the batched patch stream, gradient flow, the ablation switches and the encoder choice."""

from __future__ import annotations

import pytest
import torch

from monai_gamanet.networks import AMFF, PBHA, GAMANet
from monai_gamanet.networks.blocks import AddFusion, ConcatFusion

SMALL = (2, 3, 96, 192)


@pytest.fixture(scope="module")
def net() -> GAMANet:
    torch.manual_seed(0)
    return GAMANet()


def test_paper_size_and_smaller(net: GAMANet) -> None:
    net.eval()
    with torch.inference_mode():
        paper = net(torch.rand(1, 3, 240, 480))  # a 480-high, 240-wide photo in MONAI's axis order
        small = net(torch.rand(*SMALL))
    assert paper.shape == (1, 1, 240, 480) and small.shape == (2, 1, 96, 192)
    assert 0.0 <= float(paper.min()) and float(paper.max()) <= 1.0


@pytest.mark.parametrize("shape", [(1, 3, 100, 192), (1, 3, 240, 500), (3, 240, 480), (1, 3, 12, 24)])
def test_unsupported_sizes_are_refused(net: GAMANet, shape: tuple) -> None:
    with pytest.raises(ValueError, match="divisible by 24|expects"):
        net(torch.rand(*shape))


def test_patch_encoder_runs_once_on_all_nine_patches(net: GAMANet) -> None:
    calls = []
    hooks = [
        level.patch_stage.register_forward_hook(lambda m, i, o: calls.append(tuple(i[0].shape)))
        for level in net.levels
        if level.patch_stage is not None
    ]
    try:
        net.eval()
        with torch.inference_mode():
            net(torch.rand(*SMALL))
    finally:
        for h in hooks:
            h.remove()
    assert calls[0] == (2 * 9, 3, 32, 64)  # one call per stage, nine patches of each image as one batch
    assert len(calls) == 3


def test_gradients_reach_both_encoders_and_every_module(net: GAMANet) -> None:
    net.train()
    net.zero_grad()
    net(torch.rand(*SMALL)).mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert not missing, missing
    names = [n for n, _ in net.named_parameters()]
    assert any(".patch_stage." in n for n in names) and any(".global_stage." in n for n in names)
    assert sum(isinstance(m, PBHA) for m in net.modules()) == 3 and sum(isinstance(m, AMFF) for m in net.modules()) == 4


@pytest.mark.parametrize(
    "use_pbha, use_amff, fusion, decoder",
    [
        (True, True, PBHA, AMFF),
        (True, False, PBHA, ConcatFusion),
        (False, True, AddFusion, AMFF),
        (False, False, AddFusion, ConcatFusion),
    ],
)
def test_switches_build_table1_variants(use_pbha: bool, use_amff: bool, fusion: type, decoder: type) -> None:
    model = GAMANet(use_pbha=use_pbha, use_amff=use_amff)
    types = {type(m) for m in model.modules()}
    assert fusion in types and decoder in types
    assert ({PBHA, AddFusion} - {fusion}).isdisjoint(types) and ({AMFF, ConcatFusion} - {decoder}).isdisjoint(types)


def test_efficientnet_encoder() -> None:
    model = GAMANet(encoder="efficientnet-b0").eval()
    with torch.inference_mode():
        assert model(torch.rand(1, 3, 96, 96)).shape == (1, 1, 96, 96)
    with pytest.raises(ValueError, match="unknown encoder"):
        GAMANet(encoder="vgg16")


def test_unknown_output_activation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown output activation"):
        GAMANet(output_activation="relu")
