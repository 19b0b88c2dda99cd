"""Building blocks of GAMA-Net: the 3 x 3 patch grid, PBHA (patch-based hybrid attention) and AMFF (adaptive
multiscale feature fusion), with the plain alternatives that the paper's ablations (Table 1) use instead."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["to_grid_cells", "from_grid_cells", "PBHA", "AddFusion", "AMFF", "ConcatFusion", "conv_bn_relu"]


def to_grid_cells(x: torch.Tensor, grid: int = 3) -> torch.Tensor:
    """Cut (B, C, S1, S2) into a ``grid`` x ``grid`` raster of cells, batched: (B * grid^2, C, S1/grid, S2/grid).

    Cells are ordered row-major over (S1, S2) within each image, the same order for the photo's patches and for
    the global feature map, so cell ``i`` of one always matches cell ``i`` of the other.
    """
    b, c, s1, s2 = x.shape
    x = x.reshape(b, c, grid, s1 // grid, grid, s2 // grid)
    return x.permute(0, 2, 4, 1, 3, 5).reshape(b * grid * grid, c, s1 // grid, s2 // grid)


def from_grid_cells(x: torch.Tensor, grid: int = 3) -> torch.Tensor:
    """Inverse of :func:`to_grid_cells`: put every cell back at its place, (B * grid^2, C, s1, s2) -> (B, C, S1, S2)."""
    n, c, s1, s2 = x.shape
    b = n // (grid * grid)
    x = x.reshape(b, grid, grid, c, s1, s2).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b, c, grid * s1, grid * s2)


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class PBHA(nn.Module):
    """Patch-Based Hybrid Attention (paper eqs. 3-8): global cells attend to their own patch's features.

    Each cell of the global feature map gives the queries; the patch encoder's features of the matching photo
    patch give keys and values (multi-head ``scaled_dot_product_attention``, all cells of all images as one
    batch). The attended features are put back at their cells (F_C = sum of F_Ci placed on the grid) and added
    to the global features (residual), which then continue through the global encoder.

    Keys and values are average-pooled by ``kv_pool`` before attention (spatial-reduction attention, as in
    PVT; windows at the border may be partial): the paper does not say how it keeps attention affordable at the
    first stage's resolution, where full attention over a 480 x 240 photo's cells costs over 10 GFLOPs and,
    measured on the 2-core development CPU, 220 ms for stage 1 alone (20 ms with ``kv_pool=8``).

    Args:
        channels: feature channels of the stage (global and patch features alike).
        heads: attention heads; ``channels`` must be divisible by it.
        kv_pool: pooling factor of keys / values (1 = none).
        grid: patches per side.
    """

    def __init__(self, channels: int, heads: int = 2, kv_pool: int = 1, grid: int = 3) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"PBHA channels ({channels}) must be divisible by heads ({heads}).")
        self.heads, self.kv_pool, self.grid = heads, kv_pool, grid
        self.norm_q = nn.LayerNorm(channels)
        self.norm_kv = nn.LayerNorm(channels)
        self.q = nn.Linear(channels, channels)
        self.kv = nn.Linear(channels, 2 * channels)
        self.proj = nn.Linear(channels, channels)

    def forward(self, global_features: torch.Tensor, patch_features: torch.Tensor) -> torch.Tensor:
        """(B, C, S1, S2) global and (9B, C, S1/3, S2/3) patch features -> fused (B, C, S1, S2).

        Tokens are read straight from the channels-last layout (a free view when the maps are channels-last),
        cell by cell in :func:`to_grid_cells`' order, and written back the same way: one copy each way.
        """
        b, c, s1, s2 = global_features.shape
        grid = self.grid
        h1, h2 = s1 // grid, s2 // grid
        n = b * grid * grid
        cells = global_features.permute(0, 2, 3, 1).reshape(b, grid, h1, grid, h2, c)
        tokens = cells.permute(0, 1, 3, 2, 4, 5).reshape(n, h1 * h2, c)
        if self.kv_pool > 1:
            patch_features = F.avg_pool2d(patch_features, self.kv_pool, ceil_mode=True)
        kv_tokens = patch_features.permute(0, 2, 3, 1).reshape(n, -1, c)
        d = c // self.heads
        q = self.q(self.norm_q(tokens)).reshape(n, h1 * h2, self.heads, d).transpose(1, 2)
        kv = self.kv(self.norm_kv(kv_tokens)).reshape(n, -1, 2, self.heads, d).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, kv[0], kv[1])  # (n, heads, h1*h2, d)
        attended = self.proj(attended.transpose(1, 2).reshape(n, h1 * h2, c))
        placed = attended.reshape(b, grid, grid, h1, h2, c).permute(0, 1, 3, 2, 4, 5).reshape(b, s1, s2, c)
        return global_features + placed.permute(0, 3, 1, 2)


class AddFusion(nn.Module):
    """Ablation without PBHA: the patch features, put back on the grid, are added to the global features."""

    def __init__(self, grid: int = 3) -> None:
        super().__init__()
        self.grid = grid

    def forward(self, global_features: torch.Tensor, patch_features: torch.Tensor) -> torch.Tensor:
        return global_features + from_grid_cells(patch_features, self.grid)


class _Align(nn.Module):
    """Bring a high-resolution skip and a low-resolution decoder feature to the same size and channels."""

    def __init__(self, high_channels: int, low_channels: int, out_channels: int) -> None:
        super().__init__()
        self.high = nn.Conv2d(high_channels, out_channels, 1, bias=False)  # channel reduction of F_high
        self.low = nn.Conv2d(low_channels, out_channels, 1, bias=False)

    def forward(self, high: torch.Tensor, low: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        low = F.interpolate(low, size=high.shape[2:], mode="bilinear", align_corners=False)
        return self.high(high), self.low(low)


class AMFF(nn.Module):
    """Adaptive Multiscale Feature Fusion (paper eqs. 9-11).

    ``F_high`` (encoder layer i) and ``F_low`` (from layer i + 1) are aligned (``F_low`` resized to ``F_high``'s
    size, both projected to ``out_channels``), concatenated; a 3 x 3 convolution and a sigmoid give two weight
    maps w0, w1, and the output ``w0 * F_high + w1 * F_low`` is refined by a conv-BN-ReLU.
    """

    def __init__(self, high_channels: int, low_channels: int, out_channels: int) -> None:
        super().__init__()
        self.align = _Align(high_channels, low_channels, out_channels)
        self.weights = nn.Conv2d(2 * out_channels, 2, 3, padding=1)
        self.refine = conv_bn_relu(out_channels, out_channels)

    def forward(self, high: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        high, low = self.align(high, low)
        w = torch.sigmoid(self.weights(torch.cat([high, low], dim=1)))
        return self.refine(w[:, 0:1] * high + w[:, 1:2] * low)


class ConcatFusion(nn.Module):
    """Ablation without AMFF: aligned features are concatenated and mixed by one conv-BN-ReLU (a U-Net decoder).

    The same alignment and the same depth as :class:`AMFF` (one 3 x 3 conv-BN-ReLU after fusing), so that Table 1
    compares the fusion rule alone: an earlier version mixed with two convolutions, which gave the ablations
    without AMFF a decoder 2.5 times the size of GAMA-Net's and confounded the comparison.
    """

    def __init__(self, high_channels: int, low_channels: int, out_channels: int) -> None:
        super().__init__()
        self.align = _Align(high_channels, low_channels, out_channels)
        self.mix = conv_bn_relu(2 * out_channels, out_channels)

    def forward(self, high: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        high, low = self.align(high, low)
        return self.mix(torch.cat([high, low], dim=1))
