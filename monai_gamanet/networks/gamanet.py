"""GAMA-Net: Grid-Aware Multiscale Adaptive Network for back depth from one RGB photo (Wei et al.).

The whole forward path, top to bottom:

1. the photo (B, 3, W, H) is cut into a 3 x 3 grid of patches, batched as (9B, 3, W/3, H/3);
2. a **global encoder** runs on the photo and a shared **patch encoder** on all nine patches at once; after each
   of the first three stages **PBHA** lets every global grid cell attend to its patch's features and the
   fused map continues through the global encoder (the patch encoder stops after stage 3: only those stages
   meet the global stream);
3. the five global feature maps (strides 2-32) are decoded from the deepest up, each step fusing the next
   shallower map with **AMFF**;
4. a small head predicts depth at stride 2, which is upsampled (bilinear) to the input size; the output
   activation (``output_activation``: none, sigmoid, or clamp to [0, 1] outside training) gives relative depth.

Table 1's ablations come from two switches: ``use_pbha=False`` adds the patch features (put back on the grid)
to the global ones instead of attending; ``use_amff=False`` concatenates in the decoder instead of weighting.

Default encoder: MONAI's ResNet-18, trained from scratch. On the CPU, where this plugin must be fast, ResNets
run close to the machine's dense-convolution speed, while EfficientNets spend most of their time in
depthwise convolutions and squeeze-excitation that run far below it, so ResNet-18 gives the most accuracy per
millisecond; deeper ResNets and EfficientNet-B0..B7 remain one keyword away (``encoder="resnet34"``). See
``benchmarks/depth_networks.py`` for the measured figures.

Size rule: both spatial sizes must be divisible by 24 (the 3 x 3 grid times the stride 8 of the third
stage, where PBHA last acts), e.g. 480 x 240; other sizes raise a ValueError naming the nearest valid ones.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from monai_gamanet.networks.blocks import (
    AMFF,
    DEFAULT_OUTPUT_ACTIVATION,
    PBHA,
    AddFusion,
    ConcatFusion,
    DepthActivation,
    to_grid_cells,
)
from monai_gamanet.networks.encoders import build_encoder_stages

__all__ = ["GAMANet"]

GRID = 3
PBHA_STAGES = 3


class _EncoderLevel(nn.Module):
    """One encoder stage of both streams and, for the first three, their fusion."""

    def __init__(self, global_stage: nn.Module, patch_stage: nn.Module | None, fusion: nn.Module | None) -> None:
        super().__init__()
        self.global_stage = global_stage
        self.patch_stage = patch_stage
        self.fusion = fusion

    def forward(self, g: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g = self.global_stage(g)
        if self.patch_stage is not None and self.fusion is not None:
            p = self.patch_stage(p)
            g = self.fusion(g, p)
        return g, p


class GAMANet(nn.Module):
    """GAMA-Net (dual encoders + PBHA + AMFF) predicting relative depth at the input resolution.

    Args:
        in_channels: input channels (3: an RGB photo scaled to [0, 1]).
        encoder: a MONAI encoder name (see :data:`monai_gamanet.networks.encoders.ENCODERS`); the global and the
            patch encoder have the same architecture and separate weights.
        decoder_channels: channels of the four decoder steps, from stride 16 up to stride 2.
        use_pbha: fuse the streams with PBHA (else by addition, Table 1's ablation).
        use_amff: decode with AMFF (else by concatenation, Table 1's ablation).
        heads: attention heads of PBHA at stages 1, 2, 3.
        kv_tokens: the pooled key/value raster per cell of PBHA (see :class:`~monai_gamanet.networks.blocks.PBHA`),
            the same at every stage and input size: 64 tokens per cell by default.
        output_activation: ``"sigmoid"`` (the default, ``DEFAULT_OUTPUT_ACTIVATION``), ``"clamp"`` (raw in
            training, clamped to [0, 1] in eval mode) or ``"none"`` (see
            :class:`~monai_gamanet.networks.blocks.DepthActivation`).
        channels_last: keep weights and activations channels-last (NHWC), which PBHA's token view reads without a
            copy (``benchmarks/depth_networks.py`` measures both layouts). Inputs of any memory format are
            accepted.

    Input ``(B, in_channels, W, H)`` in MONAI's axis order (a 480-high, 240-wide photo is (B, 3, 240, 480));
    output ``(B, 1, W, H)``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        encoder: str = "resnet18",
        decoder_channels: tuple[int, int, int, int] = (256, 128, 64, 32),
        use_pbha: bool = True,
        use_amff: bool = True,
        heads: tuple[int, int, int] = (2, 2, 4),
        kv_tokens: tuple[int, int] = (8, 8),
        output_activation: str = DEFAULT_OUTPUT_ACTIVATION,
        channels_last: bool = True,
    ) -> None:
        super().__init__()
        self.use_pbha, self.use_amff = use_pbha, use_amff
        global_enc = build_encoder_stages(encoder, in_channels)
        patch_enc = build_encoder_stages(encoder, in_channels)
        channels = global_enc.channels
        levels = []
        for k, global_stage in enumerate(global_enc.stages):
            if k < PBHA_STAGES:
                fusion = PBHA(channels[k], heads[k], kv_tokens, GRID) if use_pbha else AddFusion(GRID)
                levels.append(_EncoderLevel(global_stage, patch_enc.stages[k], fusion))
            else:
                levels.append(_EncoderLevel(global_stage, None, None))
        self.levels = nn.ModuleList(levels)
        fuse = AMFF if use_amff else ConcatFusion
        decoder, low = [], channels[-1]
        for high, out in zip(channels[-2::-1], decoder_channels, strict=True):
            decoder.append(fuse(high, low, out))
            low = out
        self.decoder = nn.ModuleList(decoder)
        self.head = nn.Sequential(
            nn.Conv2d(low, low // 2, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(low // 2, 1, 1)
        )
        self.activation = DepthActivation(output_activation)
        self.grid = GRID
        self.size_multiple = GRID * 2**PBHA_STAGES
        self.channels_last = channels_last
        if channels_last:
            self.to(memory_format=torch.channels_last)

    @torch.jit.unused
    def check_input(self, x: torch.Tensor) -> None:
        """Raise a ValueError explaining what is wrong with an input's shape."""
        if x.ndim != 4:
            raise ValueError(f"GAMANet expects (B, C, W, H); got shape {tuple(x.shape)}.")
        m = self.size_multiple
        bad = [s for s in x.shape[2:] if s % m or s < m]
        if bad:
            near = [f"{max(m, (s // m) * m)} or {(s // m + 1) * m}" for s in bad]
            raise ValueError(
                f"GAMANet needs spatial sizes divisible by {m} (3 x 3 grid x stride 8); got {tuple(x.shape[2:])}. "
                f"Resize to e.g. {', '.join(near)} (the paper's 480 x 240 photo is (240, 480))."
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_scripting():
            self.check_input(x)
        p = to_grid_cells(x, self.grid)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
            p = p.contiguous(memory_format=torch.channels_last)
        g = x
        skips: list[torch.Tensor] = []
        for level in self.levels:
            g, p = level(g, p)
            skips.append(g)
        y = skips[-1]
        for i, step in enumerate(self.decoder):
            y = step(skips[-2 - i], y)
        y = F.interpolate(self.head(y), size=x.shape[2:], mode="bilinear", align_corners=False)
        return self.activation(y)
