"""What the trained bundles' predictors share: built from the bundle's own ``inference.yaml`` (network,
preprocessing, inferer, device; nothing copied), the weights loaded strictly
(:func:`monai_gamanet.inference.bundles.load_trained_network`), run in inference mode on the predictor's device.

:class:`~monai_gamanet.inference.depth.DepthPredictor` and :class:`~monai_gamanet.inference.curve.CurvePredictor`
name their bundle and read the settings of their own from the same config.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

import torch

from monai_gamanet.inference.bundles import load_trained_network

__all__ = ["BundlePredictor"]


@dataclass(frozen=True)
class BundlePredictor:
    """A trained bundle's network with its preprocessing and inferer, ready to run (eval mode, on ``device``).

    Subclasses set :attr:`BUNDLE` (the folder name under ``bundles/``) and :attr:`WHAT` (the model's name in
    errors), and add the fields they read from the config in :meth:`_settings`.
    """

    BUNDLE: ClassVar[str]
    WHAT: ClassVar[str]
    CONFIG: ClassVar[str] = "inference.yaml"

    network: torch.nn.Module
    preprocessing: Callable[[dict], dict]
    inferer: Callable
    device: torch.device
    weights: Path

    @classmethod
    def from_bundle(
        cls,
        bundle_root: str | Path | None = None,
        overrides: Mapping[str, object] | None = None,
        device: str | torch.device | None = None,
    ) -> Self:
        """The trained bundle at ``bundle_root`` (default: the shipped ``bundles/<BUNDLE>``), with the
        ``inference.yaml`` settings it was trained with (``overrides``: e.g. ``spatial_size``), on ``device``
        (default: the config's, a GPU if any).

        Raises:
            FileNotFoundError: no ``models/model.pt`` in the bundle.
        """
        parser, network, weights = load_trained_network(
            cls.BUNDLE, cls.CONFIG, cls.WHAT, bundle_root, overrides, device
        )
        return cls(
            network=network,
            preprocessing=parser.get_parsed_content("preprocessing"),
            inferer=parser.get_parsed_content("inferer"),
            device=parser.get_parsed_content("device"),
            weights=weights,
            **cls._settings(parser),
        )

    @classmethod
    def _settings(cls, parser) -> dict:
        """The subclass's own fields, read from the bundle's parsed config (``monai.bundle.ConfigParser``)."""
        return {}

    def _infer(self, batch: torch.Tensor) -> torch.Tensor:
        """The inferer's output (float, on :attr:`device`) for a preprocessed batch (B, C, W, H)."""
        with torch.inference_mode():
            return self.inferer(batch.to(self.device), self.network).float()
