"""RGB photo + depth -> the 4-channel RGBD input of the curve U-Net (the paper's eq. 18).

MONAI's ``ConcatItemsd`` concatenates any tensors; this transform is written for the one contract it
serves: exactly 3 photo channels and 1 depth channel on the same pixel grid, refused with a clear message
otherwise (a mismatch would otherwise surface as a bare ``torch.cat`` size error deep inside a data loader).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import torch
from monai.transforms import MapTransform, Transform
from monai.utils import convert_to_tensor

__all__ = ["ConcatRGBD", "ConcatRGBDd"]


class ConcatRGBD(Transform):
    """Concatenate a (3, W, H) photo and a (1, W, H) depth map into (4, W, H), channels R, G, B, D.

    Raises:
        ValueError: wrong channel counts or different spatial sizes.
    """

    def __call__(self, image: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        image = convert_to_tensor(image, track_meta=True)
        depth = convert_to_tensor(depth, track_meta=True)
        if image.ndim != 3 or image.shape[0] != 3:
            raise ValueError(f"RGBD needs a (3, W, H) photo; got shape {tuple(image.shape)}.")
        if depth.ndim != 3 or depth.shape[0] != 1:
            raise ValueError(f"RGBD needs a (1, W, H) depth map; got shape {tuple(depth.shape)}.")
        if image.shape[1:] != depth.shape[1:]:
            raise ValueError(
                f"photo and depth must have the same size to form RGBD; got {tuple(image.shape[1:])} and "
                f"{tuple(depth.shape[1:])} (W, H)."
            )
        return torch.cat([image.float(), depth.to(image.device).float()], dim=0)


class ConcatRGBDd(MapTransform):
    """Dictionary version of :class:`ConcatRGBD`.

    Args:
        image_key: key of the (3, W, H) photo.
        depth_key: key of the (1, W, H) depth map (estimated or measured, relative).
        output_key: key of the (4, W, H) result.
    """

    def __init__(self, image_key: str = "image", depth_key: str = "depth", output_key: str = "rgbd") -> None:
        super().__init__([image_key, depth_key])
        self.image_key, self.depth_key, self.output_key = image_key, depth_key, output_key
        self.concat = ConcatRGBD()

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        missing = [k for k in (self.image_key, self.depth_key) if k not in d]
        if missing:
            raise KeyError(f"RGBD needs the keys {missing} in the sample; it has {sorted(map(str, d))}.")
        d[self.output_key] = self.concat(d[self.image_key], d[self.depth_key])
        return d
