"""Building blocks of GAMA-Net: the 3 x 3 patch grid, PBHA (patch-based hybrid attention) and AMFF (adaptive
multiscale feature fusion), with the plain alternatives that the paper's ablations (Table 1) use instead."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "to_grid_cells",
    "from_grid_cells",
    "DEFAULT_OUTPUT_ACTIVATION",
    "DepthActivation",
    "CellPosition",
    "PBHA",
    "AddFusion",
    "AMFF",
    "ConcatFusion",
    "conv_bn_relu",
]


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


# The one default of the depth networks' output activation, used by every network class and both bundle configs:
# sigmoid measured best on a trained GAMA-Net (bundles/back_depth_estimation/docs/README.md, "target study").
DEFAULT_OUTPUT_ACTIVATION = "sigmoid"


class DepthActivation(nn.Module):
    """The output activation of a depth network, chosen by name as MONAI's networks choose theirs.

    * ``"none"``: raw, unbounded depth (what the loss sees during training and what a scale-and-shift-invariant
      loss needs);
    * ``"sigmoid"``: squashed into (0, 1); its slope near the ends of the range is small (0.03 at a target of 0.03
      against 0.25 mid-range), so the loss barely moves predictions toward the nearest and farthest points;
    * ``"clamp"``: raw during training, clamped to [0, 1] in eval mode (inference, validation, export), so that the
      loss keeps its full gradient everywhere and users still get relative depth in [0, 1].
    """

    KINDS = ("none", "sigmoid", "clamp")

    def __init__(self, kind: str = DEFAULT_OUTPUT_ACTIVATION) -> None:
        super().__init__()
        if kind not in self.KINDS:
            raise ValueError(f"unknown output activation '{kind}'; choose from {', '.join(self.KINDS)}.")
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "sigmoid":
            return torch.sigmoid(x)
        if self.kind == "clamp" and not self.training:
            return x.clamp(0.0, 1.0)
        return x


class CellPosition(nn.Module):
    """Positional code of a token inside its grid cell, shared by PBHA's queries and keys.

    A token at row ``i`` of ``n1`` and column ``j`` of ``n2`` sits at the cell coordinates
    ``u = (i + 0.5) / n1``, ``v = (j + 0.5) / n2`` in [0, 1]: the same frame for a query of the global cell and a
    pooled key of the matching patch, whatever either's resolution, so a query can tell where in the patch a key
    lies. Fourier features ``sin / cos(pi 2^k u)`` (and ``v``), ``k < frequencies``, mapped to ``channels`` by a
    linear layer.
    """

    def __init__(self, channels: int, frequencies: int = 4) -> None:
        super().__init__()
        self.frequencies = frequencies
        self.linear = nn.Linear(4 * frequencies, channels)

    def forward(self, n1: int, n2: int, like: torch.Tensor) -> torch.Tensor:
        """Codes (n1 * n2, channels) of a row-major n1 x n2 raster, on ``like``'s device and dtype."""
        scale = torch.pi * 2.0 ** torch.arange(self.frequencies, device=like.device, dtype=torch.float32)
        u = (torch.arange(n1, device=like.device, dtype=torch.float32) + 0.5) / n1
        v = (torch.arange(n2, device=like.device, dtype=torch.float32) + 0.5) / n2
        fu, fv = u[:, None] * scale, v[:, None] * scale  # (n1, F), (n2, F)
        fu = torch.cat([fu.sin(), fu.cos()], 1)[:, None, :].expand(n1, n2, 2 * self.frequencies)
        fv = torch.cat([fv.sin(), fv.cos()], 1)[None, :, :].expand(n1, n2, 2 * self.frequencies)
        features = torch.cat([fu, fv], 2).reshape(n1 * n2, 4 * self.frequencies)
        return self.linear(features.to(self.linear.weight.dtype)).to(like.dtype)


class PBHA(nn.Module):
    """Patch-Based Hybrid Attention (paper eqs. 3-8): global cells attend to their own patch's features.

    Each cell of the global feature map gives the queries; the patch encoder's features of the matching photo
    patch give keys and values (multi-head ``scaled_dot_product_attention``, all cells of all images as one
    batch). The attended features are put back at their cells (F_C = sum of F_Ci placed on the grid).

    "Hybrid": the output is ``global + patch (put back on the grid) + attended``. The first two terms are exactly
    what the ablation without PBHA (:class:`AddFusion`) receives, pixel-aligned and unpooled, so Table 1's "+PBHA"
    row measures what cross-attention adds to the same local signal, not a weaker signal against a stronger one.

    Choices the paper leaves open:

    * Keys and values are average-pooled to a fixed ``kv_tokens`` raster per cell (adaptive pooling; fewer where the
      cell is smaller), so the attention's cost and its view of the patch are the same at any input size; full
      attention at the first stage of a 480 x 240 photo would cost over 10 GFLOPs.
    * Queries and keys get a :class:`CellPosition` code of where they lie in the cell (the same frame for both),
      so a query knows which part of its patch a key summarises; values carry no position.

    Args:
        channels: feature channels of the stage (global and patch features alike).
        heads: attention heads; ``channels`` must be divisible by it.
        kv_tokens: the pooled key/value raster per cell, (rows, columns) in the tensor's axis order.
        grid: patches per side.
        frequencies: Fourier frequencies of the positional code.
    """

    def __init__(
        self, channels: int, heads: int = 2, kv_tokens: tuple[int, int] = (8, 8), grid: int = 3, frequencies: int = 4
    ) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"PBHA channels ({channels}) must be divisible by heads ({heads}).")
        self.heads, self.grid = heads, grid
        self.kv_tokens = (int(kv_tokens[0]), int(kv_tokens[1]))
        self.norm_q = nn.LayerNorm(channels)
        self.norm_kv = nn.LayerNorm(channels)
        self.position = CellPosition(channels, frequencies)
        self.q = nn.Linear(channels, channels)
        self.k = nn.Linear(channels, channels)
        self.v = nn.Linear(channels, channels)
        self.proj = nn.Linear(channels, channels)

    def forward(self, global_features: torch.Tensor, patch_features: torch.Tensor) -> torch.Tensor:
        """(B, C, S1, S2) global and (9B, C, S1/3, S2/3) patch features -> fused (B, C, S1, S2).

        Tokens are read straight from the channels-last layout (a free view when the maps are channels-last),
        cell by cell in :func:`to_grid_cells`' order, and written back the same way.
        """
        b, c, s1, s2 = global_features.shape
        grid = self.grid
        h1, h2 = s1 // grid, s2 // grid
        n = b * grid * grid
        cells = global_features.permute(0, 2, 3, 1).reshape(b, grid, h1, grid, h2, c)
        tokens = cells.permute(0, 1, 3, 2, 4, 5).reshape(n, h1 * h2, c)
        k1, k2 = min(self.kv_tokens[0], h1), min(self.kv_tokens[1], h2)
        pooled = F.adaptive_avg_pool2d(patch_features, [k1, k2])
        kv_tokens = pooled.permute(0, 2, 3, 1).reshape(n, k1 * k2, c)
        d = c // self.heads
        kv_norm = self.norm_kv(kv_tokens)
        q = self.q(self.norm_q(tokens) + self.position(h1, h2, tokens))
        k = self.k(kv_norm + self.position(k1, k2, kv_tokens))
        v = self.v(kv_norm)
        q = q.reshape(n, h1 * h2, self.heads, d).transpose(1, 2)
        k = k.reshape(n, k1 * k2, self.heads, d).transpose(1, 2)
        v = v.reshape(n, k1 * k2, self.heads, d).transpose(1, 2)
        attended = F.scaled_dot_product_attention(q, k, v)  # (n, heads, h1*h2, d)
        attended = self.proj(attended.transpose(1, 2).reshape(n, h1 * h2, c))
        placed = attended.reshape(b, grid, grid, h1, h2, c).permute(0, 1, 3, 2, 4, 5).reshape(b, s1, s2, c)
        return global_features + from_grid_cells(patch_features, grid) + placed.permute(0, 3, 1, 2)


class AddFusion(nn.Module):
    """Ablation without PBHA: the patch features, put back on the grid, are added to the global features.

    It receives the same pixel-aligned, unpooled patch features as :class:`PBHA`'s local term; only PBHA's
    cross-attention is missing.
    """

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
