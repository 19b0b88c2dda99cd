"""GAMA-Net's blocks: the 3 x 3 patch grid, PBHA's locality and positions, AMFF and its ablation alternatives, and
the depth networks' output activation."""

from __future__ import annotations

import pytest
import torch

from monai_gamanet.networks.blocks import (
    AMFF,
    PBHA,
    AddFusion,
    ConcatFusion,
    DepthActivation,
    from_grid_cells,
    to_grid_cells,
)


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


def test_add_fusion_is_pbha_without_its_attention_term() -> None:
    g, p = torch.rand(2, 8, 12, 12), torch.rand(18, 8, 4, 4)
    torch.testing.assert_close(AddFusion()(g, p), g + from_grid_cells(p))
    with pytest.raises(ValueError, match="divisible by heads"):
        PBHA(channels=10, heads=4)


@pytest.mark.parametrize("fusion", [AMFF, ConcatFusion])
def test_decoder_fusions_bring_the_low_feature_to_the_high_ones_size(fusion: type) -> None:
    torch.manual_seed(0)
    block = fusion(high_channels=8, low_channels=16, out_channels=4).eval()
    high, low = torch.rand(2, 8, 12, 20), torch.rand(2, 16, 6, 10)
    with torch.inference_mode():
        out = block(high, low)
        changed = block(high, low + torch.rand_like(low))
    assert out.shape == (2, 4, 12, 20) and out.min() >= 0  # conv-BN-ReLU last
    assert (changed - out).abs().max() > 0  # the low-resolution feature is used


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
