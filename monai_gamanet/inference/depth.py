"""The trained depth bundle as a predictor: one photo (a file or an already-loaded image) -> its relative depth.

Built from the ``back_depth_estimation`` bundle's own ``inference.yaml`` (network, preprocessing, inferer; nothing
copied), the weights loaded strictly (:func:`monai_gamanet.inference.bundles.load_trained_network`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import Resize

from monai_gamanet.inference.bundles import load_trained_network

__all__ = ["DepthPredictor", "Photo", "as_photo_item", "photo_size"]

DEPTH_BUNDLE = "back_depth_estimation"

# a photo file, or a photo already loaded channel-first in MONAI's (C, W, H) order (``LoadBackSampled``'s output)
Photo = str | Path | torch.Tensor


def as_photo_item(photo: Photo) -> dict:
    """``{"image": photo}`` for the bundles' preprocessing: a path as a string, a loaded photo as a MetaTensor
    whose ``spatial_shape`` is its own (W, H) (the size results are brought back to)."""
    if isinstance(photo, str | Path):
        return {"image": str(photo)}
    if not isinstance(photo, MetaTensor):
        photo = MetaTensor(photo)
    photo.meta.setdefault("spatial_shape", np.asarray(photo.shape[1:]))
    return {"image": photo}


def photo_size(image: torch.Tensor) -> tuple[int, ...]:
    """The photo's own (W, H), kept in the preprocessed image's meta by the loader."""
    return tuple(int(s) for s in image.meta["spatial_shape"])


@dataclass(frozen=True)
class DepthPredictor:
    """The depth network with its bundle's preprocessing and inferer, ready to run (eval mode, on ``device``).

    ``predictor(photo)`` gives the relative depth (W, H) in [0, 1] at the photo's own size.
    """

    network: torch.nn.Module
    preprocessing: Callable[[dict], dict]
    inferer: Callable
    device: torch.device
    weights: Path
    network_name: str
    output_activation: str
    spatial_size: tuple[int, int]

    @classmethod
    def from_bundle(
        cls,
        bundle_root: str | Path | None = None,
        overrides: Mapping[str, object] | None = None,
        device: str | torch.device | None = None,
    ) -> DepthPredictor:
        """The trained bundle at ``bundle_root`` (default: the shipped ``back_depth_estimation``), with the
        ``inference.yaml`` settings it was trained with (``overrides``), on ``device`` (default: a GPU if any).

        Raises:
            FileNotFoundError: no ``models/model.pt`` in the bundle.
        """
        parser, network, weights = load_trained_network(
            DEPTH_BUNDLE, "inference.yaml", "depth", bundle_root, overrides, device
        )
        return cls(
            network=network,
            preprocessing=parser.get_parsed_content("preprocessing"),
            inferer=parser.get_parsed_content("inferer"),
            device=parser.get_parsed_content("device"),
            weights=weights,
            network_name=parser.get_parsed_content("network_name"),
            output_activation=parser.get_parsed_content("output_activation"),
            spatial_size=tuple(parser.get_parsed_content("spatial_size")),
        )

    @property
    def settings(self) -> dict:
        """What, beside the weights, decides the estimate (the depth cache's key)."""
        return {
            "network_name": self.network_name,
            "output_activation": self.output_activation,
            "spatial_size": list(self.spatial_size),
        }

    def __call__(self, photo: Photo) -> np.ndarray:
        """Relative depth (W, H) in [0, 1] of one photo at the photo's own size."""
        image = self.preprocessing(as_photo_item(photo))["image"]
        with torch.inference_mode():
            pred = self.inferer(image[None].to(self.device), self.network)[0].float().cpu()
        return np.asarray(Resize(photo_size(image), mode="bilinear")(pred)[0]).clip(0.0, 1.0)
