"""GAMA-Net: shapes, the batched patch stream, PBHA locality, gradient flow and the ablation switches."""

from __future__ import annotations

import pytest
import torch

from monai_gamanet.networks import AMFF, PBHA, GAMANet
from monai_gamanet.networks.blocks import AddFusion, ConcatFusion, DepthActivation, from_grid_cells, to_grid_cells

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


def test_grid_cells_match_photo_patches() -> None:
    x = torch.arange(2 * 1 * 6 * 9, dtype=torch.float32).reshape(2, 1, 6, 9)
    cells = to_grid_cells(x)
    assert cells.shape == (18, 1, 2, 3)
    torch.testing.assert_close(cells[9 + 5], x[1, :, 2:4, 6:9])  # image 1, grid row 1, column 2
    torch.testing.assert_close(from_grid_cells(cells), x)


@pytest.mark.parametrize("patch", [1, 5, 6])
def test_pbha_cell_attends_only_to_its_own_patch(patch: int) -> None:
    """Off-centre patches: a transposed or mirrored cell order would put the change in the wrong cell."""
    torch.manual_seed(0)
    pbha = PBHA(channels=8, heads=2, kv_tokens=(4, 4)).eval()
    g, p = torch.rand(1, 8, 12, 12), torch.rand(9, 8, 4, 4)
    p2 = p.clone()
    p2[patch] += torch.rand(8, 4, 4)
    diff = (pbha(g, p2) - pbha(g, p)).abs().sum(1)[0]
    row, col = divmod(patch, 3)
    cell = (slice(4 * row, 4 * row + 4), slice(4 * col, 4 * col + 4))
    assert diff[cell].min() > 0
    diff[cell] = 0
    assert diff.max() == 0


def test_pbha_key_tokens_are_fixed_whatever_the_input_size() -> None:
    pbha = PBHA(channels=8, heads=2, kv_tokens=(4, 4)).eval()
    seen = []
    hook = pbha.k.register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape)))
    try:
        with torch.inference_mode():
            pbha(torch.rand(1, 8, 24, 48), torch.rand(9, 8, 8, 16))
            pbha(torch.rand(2, 8, 48, 96), torch.rand(18, 8, 16, 32))
    finally:
        hook.remove()
    assert seen == [(9, 16, 8), (18, 16, 8)]


def test_pbha_queries_know_where_a_key_lies() -> None:
    """Moving the same patch content to another place in the patch changes the attended result."""
    torch.manual_seed(0)
    pbha = PBHA(channels=8, heads=2, kv_tokens=(4, 4)).eval()
    g = torch.rand(1, 8, 12, 12)
    feature = torch.randn(8)
    p = torch.zeros(9, 8, 4, 4)
    p[4, :, 0, 0] = feature  # without positions, keys are a set: moving a token would change nothing
    moved = torch.zeros_like(p)
    moved[4, :, 3, 3] = feature
    with torch.inference_mode():
        local = lambda x: pbha(g, x) - from_grid_cells(x)  # noqa: E731 - the attention term alone
        attended, attended_moved = local(p)[0, :, 4:8, 4:8], local(moved)[0, :, 4:8, 4:8]
    assert (attended - attended_moved).abs().max() > 1e-4


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


@pytest.mark.parametrize("kind", ["none", "sigmoid", "clamp"])
def test_output_activation(kind: str) -> None:
    act = DepthActivation(kind)
    x = torch.tensor([-0.5, 0.25, 1.5])
    act.train()
    trained = act(x)
    act.eval()
    evaluated = act(x)
    if kind == "none":
        assert torch.equal(trained, x) and torch.equal(evaluated, x)
    elif kind == "sigmoid":
        assert torch.equal(trained, x.sigmoid()) and torch.equal(evaluated, x.sigmoid())
    else:  # raw while training (full gradient at the ends), [0, 1] outside
        assert torch.equal(trained, x) and torch.equal(evaluated, torch.tensor([0.0, 0.25, 1.0]))
    with pytest.raises(ValueError, match="unknown output activation"):
        GAMANet(output_activation="relu")
