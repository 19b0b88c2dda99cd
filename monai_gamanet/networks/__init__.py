"""Networks of monai-gamanet: GAMA-Net, its blocks, the FDE / FDSI baselines and the depth-network registry."""

from monai_gamanet.networks.baselines import FDE, FDSI
from monai_gamanet.networks.blocks import AMFF, DEFAULT_OUTPUT_ACTIVATION, PBHA, DepthActivation
from monai_gamanet.networks.encoders import ENCODERS, build_encoder_stages
from monai_gamanet.networks.gamanet import GAMANet
from monai_gamanet.networks.registry import (
    DepthUNet,
    create_depth_network,
    list_depth_networks,
    register_depth_network,
)

__all__ = [
    "AMFF",
    "DEFAULT_OUTPUT_ACTIVATION",
    "ENCODERS",
    "FDE",
    "FDSI",
    "GAMANet",
    "PBHA",
    "DepthActivation",
    "DepthUNet",
    "build_encoder_stages",
    "create_depth_network",
    "list_depth_networks",
    "register_depth_network",
]
