"""Writing depth predictions as people look at them: a colour-mapped PNG beside the data files."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path

import numpy as np
from monai.config import KeysCollection
from monai.transforms import MapTransform
from monai.utils import convert_to_numpy
from PIL import Image

from monai_gamanet.io.pictures import colorize_depth

__all__ = ["SaveDepthPreviewd", "SingleChannelMetad"]


class SingleChannelMetad(MapTransform):
    """Mark predictions as single-channel images for MONAI's writers.

    A prediction inherits the photo's metadata, which says the file's channels were last (RGB); with that, MONAI's
    NIfTI / NRRD writers fail on the one-channel prediction. Setting ``original_channel_dim`` to ``"no_channel"``
    lets them write a plain 2D image in the photo's orientation (spacing 1, origin 0), which 3D Slicer overlays
    on the photo.
    """

    def __init__(self, keys: KeysCollection = "pred", allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            if hasattr(d[key], "meta"):
                d[key].meta["original_channel_dim"] = "no_channel"
        return d


class SaveDepthPreviewd(MapTransform):
    """Save each (1, W, H) relative depth map as ``{output_dir}/{photo name}_{postfix}.png``, colour-mapped.

    Args:
        keys: depth keys.
        output_dir: folder of the pictures.
        postfix: appended to the photo's file name.
        meta_key: key whose ``meta["filename_or_obj"]`` names the output (the photo's key).
    """

    def __init__(
        self,
        keys: KeysCollection = "pred",
        output_dir: str = ".",
        postfix: str = "depth_preview",
        meta_key: str = "image",
    ) -> None:
        super().__init__(keys)
        self.output_dir, self.postfix, self.meta_key = Path(output_dir), postfix, meta_key

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        source = getattr(d.get(self.meta_key), "meta", {}).get("filename_or_obj", "depth")
        for key in self.key_iterator(d):
            depth = convert_to_numpy(d[key])[0].T  # (W, H) -> (H, W) for display
            self.output_dir.mkdir(parents=True, exist_ok=True)
            path = self.output_dir / f"{Path(str(source)).name.split('.')[0]}_{self.postfix}.png"
            Image.fromarray(colorize_depth(depth, np.isfinite(depth))).save(path)
        return d
