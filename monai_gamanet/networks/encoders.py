"""MONAI's 2D encoders cut into their five stages (strides 2, 4, 8, 16, 32).

GAMA-Net has to act *between* encoder stages (PBHA fuses the global and patch streams after each of the first
three), but MONAI's encoders (``ResNetEncoder``, ``EfficientNetEncoder``, the FlexibleUNet backbones) only
return all five feature maps at once. This module re-groups their existing sub-modules into five sequential
stages, so that the networks are still MONAI's, built from scratch (nothing is downloaded), and any stage can
be run on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from monai.networks.nets.efficientnet import EfficientNetEncoder
from monai.networks.nets.resnet import ResNet, ResNetEncoder, get_inplanes, resnet_params
from torch import nn

__all__ = ["ENCODERS", "EncoderStages", "build_encoder_stages"]

ENCODERS: tuple[str, ...] = tuple(ResNetEncoder.backbone_names) + tuple(
    n for n in EfficientNetEncoder.backbone_names if n.startswith("efficientnet-b")
)


@dataclass
class EncoderStages:
    """Five sequential stages and the channels each one outputs (strides 2, 4, 8, 16, 32)."""

    stages: nn.ModuleList
    channels: tuple[int, ...]


def _resnet_stages(name: str, in_channels: int) -> EncoderStages:
    """MONAI's ResNet of that depth with the ImageNet layout: 7 x 7 stride-2 stem, max-pool, and projection
    (type "B", 1 x 1 convolution) shortcuts. MONAI's FlexibleUNet backbones give ResNet-18/34 MedicalNet's
    parameter-free type "A" shortcuts, which TorchScript cannot compile (``ckpt_export`` needs it)."""
    block, layers, _, _, _ = resnet_params[name]
    net = ResNet(
        block=block,
        layers=layers,
        block_inplanes=get_inplanes(),
        spatial_dims=2,
        n_input_channels=in_channels,
        conv1_t_size=7,
        conv1_t_stride=2,
        shortcut_type="B",
        feed_forward=False,
    )
    stages = nn.ModuleList(
        [
            nn.Sequential(net.conv1, net.bn1, net.act),
            nn.Sequential(net.maxpool, net.layer1),
            net.layer2,
            net.layer3,
            net.layer4,
        ]
    )
    channels = ResNetEncoder.num_channels_per_output()[ResNetEncoder.backbone_names.index(name)]
    return EncoderStages(stages, tuple(channels))


def _efficientnet_stages(name: str, in_channels: int) -> EncoderStages:
    net = EfficientNetEncoder(model_name=name, pretrained=False, spatial_dims=2, in_channels=in_channels)
    stem = [net._conv_stem_padding, net._conv_stem, net._bn0, net._swish]
    bounds = list(net.extract_stacks)  # feature k is taken after block bounds[k] - 1 (0 = after the stem)
    blocks = list(net._blocks)
    groups, start = [], 0
    for end in bounds:
        groups.append(blocks[start:end])
        start = end
    groups[0] = stem + groups[0]
    stages = nn.ModuleList([nn.Sequential(*g) for g in groups])
    channels = EfficientNetEncoder.num_channels_per_output()[EfficientNetEncoder.backbone_names.index(name)]
    return EncoderStages(stages, tuple(channels))


def build_encoder_stages(name: str = "resnet18", in_channels: int = 3) -> EncoderStages:
    """Build a MONAI encoder by name, randomly initialised, as five stages.

    Args:
        name: one of :data:`ENCODERS` (``resnet10`` ... ``resnet200``, ``efficientnet-b0`` ... ``efficientnet-b7``).
        in_channels: input channels (3 for a photo).

    Raises:
        ValueError: for an unknown encoder name, listing the known ones.
    """
    if name in ResNetEncoder.backbone_names:
        return _resnet_stages(name, in_channels)
    if name in ENCODERS:
        return _efficientnet_stages(name, in_channels)
    raise ValueError(f"unknown encoder '{name}'; choose one of {', '.join(ENCODERS)}.")
