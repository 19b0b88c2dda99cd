"""Depth in millimetres -> relative depth in [0, 1] over the valid pixels, plus the valid-pixel mask.

The paper evaluates relative depth normalised to [0, 1] (Table 3). A raw depth of 0 means "no measurement"
(an Azure Kinect's holes and the removed background): such pixels, and non-finite ones, are invalid, are
carried as a mask, and are set to 0 in the relative map only as a placeholder that every loss and metric
ignores. Relative depth keeps the camera's direction: 0 is the nearest valid point, 1 the farthest.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform, Transform
from monai.utils import convert_to_tensor

__all__ = ["valid_depth_mask", "NormalizeDepth", "NormalizeDepthd"]


def valid_depth_mask(depth: torch.Tensor) -> torch.Tensor:
    """Boolean mask of measured pixels: finite and > 0."""
    return torch.isfinite(depth) & (depth > 0)


class NormalizeDepth(Transform):
    """Map raw depth (1, W, H) in millimetres to relative depth in [0, 1] over its valid pixels.

    Args:
        lower_percentile: percentile of the valid depths mapped to 0 (0 = the minimum); values below clip to 0.
        upper_percentile: percentile mapped to 1 (100 = the maximum); values above clip to 1. Percentiles other
            than 0 / 100 make the map robust to flying pixels at the silhouette.

    Returns:
        the relative depth, float32, 0 at invalid pixels. On a MetaTensor, ``meta["depth_range_mm"]`` records the
        millimetres mapped to 0 and 1, so that the relative map can be turned back into millimetres.

    Raises:
        ValueError: not a single-channel 2D map, negative depths, no valid pixel, or no depth variation.
    """

    def __init__(self, lower_percentile: float = 0.0, upper_percentile: float = 100.0) -> None:
        if not 0.0 <= lower_percentile < upper_percentile <= 100.0:
            raise ValueError(f"need 0 <= lower < upper <= 100; got {lower_percentile}, {upper_percentile}.")
        self.lower, self.upper = lower_percentile / 100.0, upper_percentile / 100.0

    def __call__(self, depth: torch.Tensor) -> torch.Tensor:
        depth = convert_to_tensor(depth, track_meta=True)
        name = getattr(depth, "meta", {}).get("filename_or_obj", "")
        where = f" ({name})" if name else ""
        if depth.ndim != 3 or depth.shape[0] != 1:
            raise ValueError(f"depth must be one channel, (1, W, H); got shape {tuple(depth.shape)}{where}.")
        d = depth.float()
        valid = valid_depth_mask(d)
        if (d[torch.isfinite(d)] < 0).any():
            raise ValueError(
                f"depth has negative values{where}; expected millimetres from the camera, 0 = no measurement."
            )
        if not valid.any():
            raise ValueError(f"depth map has no valid pixel (all 0 or NaN){where}.")
        values = d[valid]
        if self.lower == 0.0 and self.upper == 1.0:
            lo, hi = values.min(), values.max()
        else:
            lo, hi = torch.quantile(values, torch.tensor([self.lower, self.upper], dtype=values.dtype))
        if hi <= lo:
            raise ValueError(f"depth has no variation over its valid pixels (all {float(lo):g}){where}.")
        rel = torch.where(valid, ((d - lo) / (hi - lo)).clamp(0.0, 1.0), torch.zeros_like(d))
        if hasattr(rel, "meta"):
            rel.meta["depth_range_mm"] = (float(lo), float(hi))
        return rel


class NormalizeDepthd(MapTransform):
    """Dictionary wrapper of :class:`NormalizeDepth` that also stores the valid-pixel mask.

    Args:
        keys: keys of raw depth maps.
        mask_key_postfix: the mask of ``key`` is stored as ``f"{key}_{mask_key_postfix}"`` (float32, 1 = valid).
        lower_percentile: see :class:`NormalizeDepth`.
        upper_percentile: see :class:`NormalizeDepth`.
        allow_missing_keys: skip absent keys (a photo-only sample at inference has no depth).
    """

    def __init__(
        self,
        keys: KeysCollection = "depth",
        mask_key_postfix: str = "mask",
        lower_percentile: float = 0.0,
        upper_percentile: float = 100.0,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.mask_key_postfix = mask_key_postfix
        self.normalizer = NormalizeDepth(lower_percentile, upper_percentile)

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            raw = convert_to_tensor(d[key], track_meta=True)
            d[key] = self.normalizer(raw)
            d[f"{key}_{self.mask_key_postfix}"] = valid_depth_mask(raw.float()).float()
        return d
