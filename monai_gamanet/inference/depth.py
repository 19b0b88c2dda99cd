"""The trained depth bundle as a predictor: one photo (a file or an already-loaded image) -> its relative depth.

Built from the ``back_depth_estimation`` bundle's own ``inference.yaml`` (network, preprocessing, inferer; nothing
copied), the weights loaded strictly (:class:`monai_gamanet.inference.predictor.BundlePredictor`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import Resize

from monai_gamanet.inference.predictor import BundlePredictor

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
class DepthPredictor(BundlePredictor):
    """The depth network with its bundle's preprocessing and inferer, ready to run (eval mode, on ``device``).

    ``DepthPredictor.from_bundle(bundle_root, overrides, device)`` loads the trained bundle (default: the shipped
    ``back_depth_estimation``; see :meth:`~monai_gamanet.inference.predictor.BundlePredictor.from_bundle`).
    ``predictor(photo)`` gives the relative depth (W, H) in [0, 1] at the photo's own size.
    """

    BUNDLE = DEPTH_BUNDLE
    WHAT = "depth"

    network_name: str
    output_activation: str
    spatial_size: tuple[int, int]

    @classmethod
    def _settings(cls, parser) -> dict:
        return {
            "network_name": parser.get_parsed_content("network_name"),
            "output_activation": parser.get_parsed_content("output_activation"),
            "spatial_size": tuple(parser.get_parsed_content("spatial_size")),
        }

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
        pred = self._infer(image[None])[0].cpu()
        return np.asarray(Resize(photo_size(image), mode="bilinear")(pred)[0]).clip(0.0, 1.0)
