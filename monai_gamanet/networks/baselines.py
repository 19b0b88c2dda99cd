"""The paper's depth baselines (Table 3), rebuilt from their public descriptions (``../shared/PEERS.md``).

Both take the same input and give the same output as :class:`~monai_gamanet.networks.GAMANet`: a photo
(B, 3, W, H) scaled to [0, 1] in, relative depth (B, 1, W, H) out (their own outputs are upsampled to the input
size; ``output_activation`` as GAMA-Net's, see :class:`~monai_gamanet.networks.blocks.DepthActivation`), and
both are trained from scratch like every network here (their papers started from ImageNet weights, which cannot
be downloaded here).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import mobilenet_v2

from monai_gamanet.networks.blocks import DEFAULT_OUTPUT_ACTIVATION, DepthActivation, conv_bn_relu
from monai_gamanet.networks.encoders import build_encoder_stages

__all__ = ["FDE", "FDSI"]


class _UpBlock(nn.Module):
    """DenseDepth up-sampling: resize to the skip's size, concatenate it, two 3 x 3 conv + LeakyReLU(0.2)."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(in_channels + skip_channels, out_channels, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
            nn.LeakyReLU(0.2),
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=True)
        return self.convs(torch.cat([x, skip], dim=1))


class FDE(nn.Module):
    """FDE (Khan et al., Neural Networks 2021): MobileNetV2 encoder + DenseDepth-style decoder, about 13 M parameters.

    Skips are taken at strides 2 (16 ch), 4 (24), 8 (32), 16 (64) and 32 (160, 320); the 1280-channel top is
    reduced to 768 by a 1 x 1 convolution and six up-sampling blocks (384, 384, 192, 96, 96, 48 channels) bring
    it back to stride 2, where a 3 x 3 convolution gives the depth. The encoder is torchvision's MobileNetV2
    (MONAI has none), built without weights.
    """

    SKIPS = (1, 3, 6, 10, 16, 17)  # torchvision MobileNetV2 blocks after which skips are taken (strides 2-32)
    SKIP_CHANNELS = (16, 24, 32, 64, 160, 320)
    DECODER = (384, 384, 192, 96, 96, 48)  # from the deepest skip up

    def __init__(self, in_channels: int = 3, output_activation: str = DEFAULT_OUTPUT_ACTIVATION) -> None:
        super().__init__()
        self.activation = DepthActivation(output_activation)
        features = mobilenet_v2(weights=None).features
        if in_channels != 3:
            first = features[0][0]
            features[0][0] = nn.Conv2d(in_channels, first.out_channels, 3, 2, 1, bias=False)
        self.features = features
        self.skip_indices = list(self.SKIPS)
        self.reduce = nn.Conv2d(1280, 768, 1)
        ups, prev = [], 768
        for skip_ch, out in zip(self.SKIP_CHANNELS[::-1], self.DECODER, strict=True):
            ups.append(_UpBlock(prev, skip_ch, out))
            prev = out
        self.ups = nn.ModuleList(ups)
        self.head = nn.Conv2d(prev, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips: list[torch.Tensor] = []
        y = x
        for i, block in enumerate(self.features):
            y = block(y)
            if i in self.skip_indices:
                skips.append(y)
        y = self.reduce(y)
        for j, up in enumerate(self.ups):
            y = up(y, skips[len(skips) - 1 - j])
        y = F.interpolate(self.head(y), size=x.shape[2:], mode="bilinear", align_corners=True)
        return self.activation(y)


class _SelectiveFeatureFusion(nn.Module):
    """GLPDepth's SFF: concat(local, global) -> conv-BN-ReLU 128->64 -> 64->32 -> conv 32->2, sigmoid weights."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.attend = nn.Sequential(
            conv_bn_relu(2 * channels, channels),
            conv_bn_relu(channels, channels // 2),
            nn.Conv2d(channels // 2, 2, 3, padding=1),
        )

    def forward(self, local: torch.Tensor, global_: torch.Tensor) -> torch.Tensor:
        w = torch.sigmoid(self.attend(torch.cat([local, global_], dim=1)))
        return local * w[:, 0:1] + global_ * w[:, 1:2]


class _FusionStep(nn.Module):
    """Project the next shallower encoder feature to the decoder width, upsample the decoder, fuse them."""

    def __init__(self, skip_channels: int, channels: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(skip_channels, channels, 1)
        self.fuse = _SelectiveFeatureFusion(channels)

    def forward(self, y: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        local = self.project(skip)
        y = F.interpolate(y, size=local.shape[2:], mode="bilinear", align_corners=False)
        return self.fuse(local, y)


class FDSI(nn.Module):
    """FDSI (Khan et al., IEEE Access 2023): ResNet-18 + GLPDepth-style selective-fusion decoder, ~11.5 M parameters.

    Encoder features at strides 4-32 (64/128/256/512 channels; MONAI's ResNet-18) are projected to 64 channels
    by 1 x 1 convolutions; three selective feature fusion blocks merge them from the deepest up with bilinear
    x2 steps between; the head (conv 64->64, ReLU, conv -> 1, output activation) runs at full resolution.
    """

    def __init__(
        self, in_channels: int = 3, channels: int = 64, output_activation: str = DEFAULT_OUTPUT_ACTIVATION
    ) -> None:
        super().__init__()
        self.activation = DepthActivation(output_activation)
        self.encoder = build_encoder_stages("resnet18", in_channels).stages
        self.bottleneck = nn.Conv2d(512, channels, 1)
        self.steps = nn.ModuleList([_FusionStep(c, channels) for c in (256, 128, 64)])
        self.head = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(channels, 1, 3, padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats: list[torch.Tensor] = []
        y = x
        for stage in self.encoder:  # strides 2, 4, 8, 16, 32
            y = stage(y)
            feats.append(y)
        y = self.bottleneck(feats[4])
        for i, step in enumerate(self.steps):
            y = step(y, feats[3 - i])
        y = F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)
        return self.activation(self.head(y))
