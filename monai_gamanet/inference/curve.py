"""The trained curve bundle as a predictor: a photo and its estimated depth (an array) -> the curve probability.

Built from the ``spine_curve_segmentation`` bundle's ``inference.yaml`` (network, preprocessing, inferer, inputs
and the centre-line decoding; nothing copied), the weights loaded strictly
(:class:`monai_gamanet.inference.predictor.BundlePredictor`). The depth goes in as the array the depth predictor
returns, never through a file: it is brought to the 16-bit steps of the cached depth PNGs the network trained on
(:func:`depth_channel`), so that the two paths give the same input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import Resize

from monai_gamanet.inference.depth import Photo, as_photo_item, photo_size
from monai_gamanet.inference.depth_cache import DEPTH_KEY, depth_steps
from monai_gamanet.inference.predictor import BundlePredictor

__all__ = [
    "CURVE_INPUTS",
    "FLIPS",
    "CurvePredictor",
    "curve_in_channels",
    "curve_input_keys",
    "curve_uncertainty",
    "depth_channel",
]

CURVE_BUNDLE = "spine_curve_segmentation"

# Table 4's inputs: the keys concatenated into the network's image, in order
CURVE_INPUTS: dict[str, tuple[str, ...]] = {"rgbd": ("image", DEPTH_KEY), "rgb": ("image",), "depth": (DEPTH_KEY,)}
_CHANNELS = {"image": 3, DEPTH_KEY: 1}

FLIPS: tuple[tuple[int, ...], ...] = ((), (1,), (2,), (1, 2))  # none, left-right, upside-down, both (W, H axes)


def _check_inputs(inputs: str) -> tuple[str, ...]:
    if inputs not in CURVE_INPUTS:
        raise ValueError(f"unknown curve inputs '{inputs}'; choose from {', '.join(CURVE_INPUTS)}.")
    return CURVE_INPUTS[inputs]


def curve_input_keys(inputs: str) -> list[str]:
    """The sample keys the curve network's image is concatenated from, for ``inputs`` (rgbd, rgb or depth)."""
    return list(_check_inputs(inputs))


def curve_in_channels(inputs: str) -> int:
    """The curve network's input channels for ``inputs`` (rgbd 4, rgb 3, depth 1)."""
    return sum(_CHANNELS[key] for key in _check_inputs(inputs))


def depth_channel(depth: np.ndarray) -> MetaTensor:
    """Relative depth (W, H) in [0, 1] -> the (1, W, H) values the curve preprocessing reads from a cached 16-bit
    depth PNG (0-65535, rounded as the PNG stores them)."""
    return MetaTensor(torch.from_numpy(depth_steps(depth).astype(np.float32))[None])


def curve_uncertainty(probabilities: np.ndarray, near: int = 3) -> float:
    """How much the flipped predictions (n, W, H) disagree near the predicted curve: the mean over pixels within
    ``near`` pixels of any flip's curve (probability > 0.5) of the probabilities' standard deviation across flips;
    0 when no flip finds a curve pixel (nothing to be unsure about: "no curve" is scored by that, not here)."""
    from scipy import ndimage

    union = (probabilities > 0.5).any(axis=0)
    if not union.any():
        return 0.0
    region = ndimage.binary_dilation(union, iterations=near)
    return float(probabilities.std(axis=0)[region].mean())


@dataclass(frozen=True)
class CurvePredictor(BundlePredictor):
    """The curve U-Net with its bundle's preprocessing and inferer (eval mode, on ``device``), the inputs it was
    trained on and the centre-line decoding its reports use.

    ``CurvePredictor.from_bundle(bundle_root, overrides, device)`` loads the trained bundle (default: the shipped
    ``spine_curve_segmentation``; ``overrides`` e.g. ``inputs``, ``spatial_size``; see
    :meth:`~monai_gamanet.inference.predictor.BundlePredictor.from_bundle`).
    """

    BUNDLE = CURVE_BUNDLE
    WHAT = "curve"

    inputs: str
    decoding: str

    @classmethod
    def _settings(cls, parser) -> dict:
        return {"inputs": parser.get_parsed_content("inputs"), "decoding": parser.get_parsed_content("curve_decoding")}

    @property
    def needs_depth(self) -> bool:
        return DEPTH_KEY in CURVE_INPUTS[self.inputs]

    def _image(self, photo: Photo, depth: np.ndarray | None) -> torch.Tensor:
        item = as_photo_item(photo)
        if self.needs_depth:
            if depth is None:
                raise ValueError(f"the curve model takes {self.inputs}: it needs the photo's estimated depth.")
            item[DEPTH_KEY] = depth_channel(depth)
        return self.preprocessing(item)["image"]

    def probability(self, photo: Photo, depth: np.ndarray | None) -> np.ndarray:
        """The probability of the curve class (W, H) at the photo's own size; ``depth`` (W, H) in [0, 1] is the
        photo's estimated relative depth (unused when the model takes RGB only)."""
        image = self._image(photo, depth)
        logits = self._infer(image[None])[0]
        probability = torch.softmax(logits, 0)[1:].cpu()
        return np.asarray(Resize(photo_size(image), mode="bilinear")(probability)[0])

    def flip_probabilities(self, photo: Photo, depth: np.ndarray | None) -> np.ndarray:
        """The curve probability (n_flips, W, H) at the network's size under the test-time flips of :data:`FLIPS`,
        each flipped back: where the network is sure, the four agree (it was trained with both flips)."""
        image = self._image(photo, depth).as_tensor()
        batch = torch.stack([image.flip(f) if f else image for f in FLIPS])
        logits = self._infer(batch)
        probability = torch.softmax(logits, 1)[:, 1].cpu()  # (n, W, H)
        return np.stack(
            [p.flip([d - 1 for d in f]).numpy() if f else p.numpy() for p, f in zip(probability, FLIPS, strict=True)]
        )

    def uncertainty(self, photo: Photo, depth: np.ndarray | None) -> float:
        """:func:`curve_uncertainty` of :meth:`flip_probabilities`: the app's active-learning score."""
        return curve_uncertainty(self.flip_probabilities(photo, depth))
