"""Loading one back sample with MONAI's readers, with errors that say what is wrong with which file.

MONAI's ``LoadImage`` answers a missing or corrupt file with "cannot find a suitable reader"; a clinic needs to
hear which file of which sample is unreadable and why. The photo policy is applied here too:

* RGB (3 channels, 8-bit) is the contract;
* RGBA: the alpha channel is dropped (photos exported with transparency);
* 16-bit RGB: MONAI's PIL and ITK readers keep the high byte of each channel, i.e. convert it to 8-bit; arrays
  given directly with values above 255 are divided by 257 (the 16-bit to 8-bit mapping);
* grayscale or two-channel photos are refused: GAMA-Net reads skin colour and shading from colour photos.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from pathlib import Path

import torch
from monai.config import KeysCollection
from monai.transforms import LoadImage, MapTransform, Transform
from monai.utils import convert_to_tensor

__all__ = ["LoadBackSampled", "EnsureRGB", "EnsureRGBd", "CheckSpatialShaped"]


class LoadBackSampled(MapTransform):
    """Load the image files of a sample (photo, depth, label) channel-first in MONAI's (C, W, H) axis order.

    Paths are read with MONAI's ``LoadImage`` (``PILReader`` by default) keeping the file's dtype, so a depth
    PNG arrives as integer millimetres. Values that are not paths (already-loaded arrays) pass through.

    Args:
        keys: keys of the file paths to load.
        reader: MONAI image reader name or instance.
        allow_missing_keys: skip keys that are absent from the sample.

    Raises:
        FileNotFoundError: a file does not exist (the key and path are named).
        ValueError: a file exists but is not a readable image.
    """

    def __init__(
        self,
        keys: KeysCollection = ("image", "depth", "label"),
        reader: str | object = "PILReader",
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.loader = LoadImage(reader=reader, image_only=True, ensure_channel_first=True, dtype=None)

    def _load(self, key: Hashable, value: object) -> object:
        if not isinstance(value, str | os.PathLike):
            return value
        path = Path(value)
        if not path.is_file():
            raise FileNotFoundError(f"'{key}' file not found: {path}")
        try:
            return self.loader(str(path))
        except Exception as err:  # readers raise many types; all mean "not a readable image"
            raise ValueError(f"'{key}' file {path} is not a readable image (corrupt or not an image file).") from err

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self._load(key, d[key])
        return d


def _describe(img: torch.Tensor) -> str:
    name = getattr(img, "meta", {}).get("filename_or_obj", "")
    return f" ({name})" if name else ""


class EnsureRGB(Transform):
    """Bring a channel-first photo to 3 channels, float32 in [0, 255] (see the module docstring for the policy).

    Raises:
        ValueError: grayscale / two-channel / more than four channels, not channel-first 2D, or NaN / infinite values.
    """

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        img = convert_to_tensor(img, track_meta=True)
        where = _describe(img)
        if img.ndim != 3:
            raise ValueError(
                f"a photo must be a 2D image with channels first (C, W, H); got shape {tuple(img.shape)}{where}."
            )
        channels = img.shape[0]
        if channels in (1, 2):
            raise ValueError(
                f"the photo has {channels} channel(s) (grayscale){where}; an RGB colour photo is required."
            )
        if channels not in (3, 4):
            raise ValueError(f"the photo has {channels} channels{where}; expected RGB (3) or RGBA (4).")
        img = img[:3].float()
        if not torch.isfinite(img).all():
            raise ValueError(f"the photo contains NaN or infinite values{where}.")
        if img.min() < 0:
            raise ValueError(f"the photo has negative intensities{where}; expected 8-bit RGB values 0-255.")
        if img.max() > 255:
            img = img / 257.0
        return img


class EnsureRGBd(MapTransform):
    """Dictionary wrapper of :class:`EnsureRGB`."""

    def __init__(self, keys: KeysCollection = "image", allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.converter = EnsureRGB()

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.converter(d[key])
        return d


class CheckSpatialShaped(MapTransform):
    """Refuse a sample whose images are not pixel-aligned: every key must have the same spatial shape.

    Photo, depth and label of one capture share one pixel grid (the Azure Kinect SDK aligns depth to colour);
    resizing a mismatched pair would silently misalign them, so a mismatch is an error.

    Raises:
        ValueError: naming each key's spatial shape and file.
    """

    def __init__(self, keys: KeysCollection = ("image", "depth", "label"), allow_missing_keys: bool = True) -> None:
        super().__init__(keys, allow_missing_keys)

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        shapes = {key: tuple(d[key].shape[1:]) for key in self.key_iterator(d)}
        if len(set(shapes.values())) > 1:
            detail = ", ".join(f"{k} {s}{_describe(d[k])}" for k, s in shapes.items())
            raise ValueError(f"images of one sample must have the same size (W, H); got {detail}.")
        return d
