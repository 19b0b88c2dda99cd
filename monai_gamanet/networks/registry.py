"""A small registry of the depth networks, by name: GAMA-Net and its ablations (Table 1), FDE and FDSI (Table 3),
and a plain MONAI U-Net. Bundles, the benchmark and the tests all build networks through it, so a network
registered here is benchmarked and tested without new code."""

from __future__ import annotations

from collections.abc import Callable

from monai.networks.nets import BasicUNet
from torch import nn

from monai_gamanet.networks.baselines import FDE, FDSI
from monai_gamanet.networks.blocks import DEFAULT_OUTPUT_ACTIVATION, DepthActivation
from monai_gamanet.networks.gamanet import GAMANet

__all__ = ["register_depth_network", "create_depth_network", "list_depth_networks", "DepthUNet"]

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_depth_network(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a builder ``(**kwargs) -> nn.Module`` under ``name``."""

    def wrap(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"depth network '{name}' is already registered.")
        _REGISTRY[name] = builder
        return builder

    return wrap


def list_depth_networks() -> list[str]:
    """Names of the registered depth networks."""
    return list(_REGISTRY)


def create_depth_network(name: str, **kwargs) -> nn.Module:
    """Build a registered depth network; keyword arguments go to its constructor.

    Raises:
        ValueError: unknown name (the known ones are listed).
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown depth network '{name}'; known: {', '.join(_REGISTRY)}.")
    return _REGISTRY[name](**kwargs)


class DepthUNet(nn.Module):
    """MONAI's ``BasicUNet`` with the depth networks' output activation: the plain U-Net reference (sizes: x 16)."""

    def __init__(
        self,
        in_channels: int = 3,
        features: tuple[int, ...] = (32, 32, 64, 128, 256, 32),
        output_activation: str = DEFAULT_OUTPUT_ACTIVATION,
    ) -> None:
        super().__init__()
        self.unet = BasicUNet(spatial_dims=2, in_channels=in_channels, out_channels=1, features=features)
        self.activation = DepthActivation(output_activation)

    def forward(self, x):
        return self.activation(self.unet(x))


@register_depth_network("gamanet")
def gamanet(**kwargs) -> nn.Module:
    """GAMA-Net with all modules (Table 1, last row)."""
    return GAMANet(**kwargs)


@register_depth_network("gamanet_pbha")
def gamanet_pbha(**kwargs) -> nn.Module:
    """Baseline + PBHA module (Table 1)."""
    return GAMANet(use_pbha=True, use_amff=False, **kwargs)


@register_depth_network("gamanet_amff")
def gamanet_amff(**kwargs) -> nn.Module:
    """Baseline + AMFF module (Table 1)."""
    return GAMANet(use_pbha=False, use_amff=True, **kwargs)


@register_depth_network("gamanet_baseline")
def gamanet_baseline(**kwargs) -> nn.Module:
    """Dual-encoder baseline without PBHA and AMFF (Table 1, first row)."""
    return GAMANet(use_pbha=False, use_amff=False, **kwargs)


register_depth_network("fde")(FDE)
register_depth_network("fdsi")(FDSI)
register_depth_network("unet")(DepthUNet)
