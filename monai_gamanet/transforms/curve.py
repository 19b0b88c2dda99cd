"""MONAI transforms between the spine curve as ordered points and as a band mask.

See :mod:`monai_gamanet.data.geometry` for the conventions (MONAI's (x, y) axis order, C7 first).
"""

from __future__ import annotations

import json
import os
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform, Transform
from monai.utils import convert_to_numpy, convert_to_tensor, ensure_tuple

from monai_gamanet.data.geometry import check_curve_points, curve_to_band
from monai_gamanet.metrics.centre_line import centre_line

__all__ = ["load_curve", "CurveTruthd", "LoadCurved", "CurveToMask", "CurveToMaskd", "MaskToCurve", "MaskToCurved"]


def load_curve(path: str | os.PathLike) -> dict:
    """Read a curve JSON of the data contract and check its points.

    Returns:
        the document, with ``points`` as an (N, 2) float32 array of (x, y), C7 first.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not JSON, no ``points``, or points that are not an ordered (N, 2) curve.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"curve file not found: {path}")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"curve file {path} is not valid JSON: {err}") from err
    if not isinstance(doc, dict) or "points" not in doc:
        raise ValueError(f"curve file {path} has no 'points' list.")
    try:
        points = check_curve_points(doc["points"]).astype(np.float32)
    except (ValueError, TypeError) as err:
        raise ValueError(f"curve file {path}: {err}") from err
    doc["points"] = points
    return doc


class LoadCurved(MapTransform):
    """Replace curve JSON paths by their (N, 2) points; the rest of each document goes to ``f"{key}_info"``."""

    def __init__(self, keys: KeysCollection = "curve", allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            doc = load_curve(d[key])
            d[key] = doc.pop("points")
            d[f"{key}_info"] = doc
        return d


class CurveToMask(Transform):
    """Curve points (N, 2) -> band mask (1, W, H), see :func:`curve_to_band`.

    Args:
        spatial_size: (W, H) of the output in MONAI's axis order (a 480-high, 240-wide photo is (240, 480)).
        width: band width in pixels.
    """

    def __init__(self, spatial_size: Sequence[int], width: float = 5.0) -> None:
        self.spatial_size = tuple(spatial_size)
        self.width = width

    def __call__(self, points: np.ndarray | torch.Tensor | Sequence) -> torch.Tensor:
        band = curve_to_band(convert_to_numpy(points), self.spatial_size, self.width)
        return convert_to_tensor(band[None])


class MaskToCurve(Transform):
    """Band mask (1, W, H) or (W, H) -> ordered centre line (N, 2): the morphology's own
    :func:`~monai_gamanet.metrics.centre_line.centre_line` (the largest band; refused if it is no spine band).

    Args:
        n_points: resample to this many points; ``None`` keeps one point per row.
    """

    def __init__(self, n_points: int | None = None) -> None:
        self.n_points = n_points

    def __call__(self, mask: np.ndarray | torch.Tensor) -> np.ndarray:
        return centre_line(convert_to_numpy(mask), n_points=self.n_points)


class CurveToMaskd(MapTransform):
    """Dictionary wrapper of :class:`CurveToMask`: curve points under ``keys`` become masks under ``output_keys``."""

    def __init__(
        self,
        keys: KeysCollection,
        spatial_size: Sequence[int],
        width: float = 5.0,
        output_keys: KeysCollection | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.output_keys = ensure_tuple(output_keys) if output_keys is not None else self.keys
        self.converter = CurveToMask(spatial_size, width)

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key, out in self.key_iterator(d, self.output_keys):
            d[out] = self.converter(d[key])
        return d


class MaskToCurved(MapTransform):
    """Dictionary wrapper of :class:`MaskToCurve`: masks under ``keys`` become curves under ``output_keys``."""

    def __init__(
        self,
        keys: KeysCollection,
        n_points: int | None = None,
        output_keys: KeysCollection | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.output_keys = ensure_tuple(output_keys) if output_keys is not None else self.keys
        self.converter = MaskToCurve(n_points)

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key, out in self.key_iterator(d, self.output_keys):
            d[out] = self.converter(d[key])
        return d


class CurveTruthd(MapTransform):
    """The photo's truth for the morphology metrics: ``output_key`` = :func:`~monai_gamanet.metrics.spine.
    curve_truth` of the curve JSON under ``keys`` (major Cobb angle, severity, curve type, mm per pixel at the
    ``image_key`` image's current size: place it after the resizing), all NaN when the sample has no curve JSON.

    Raises:
        ValueError: the curve file exists but is not a curve JSON of the data contract.
    """

    def __init__(
        self, keys: KeysCollection = "curve", image_key: str = "image", output_key: str = "curve_truth"
    ) -> None:
        super().__init__(keys, allow_missing_keys=True)
        self.image_key, self.output_key = image_key, output_key

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        from monai_gamanet.metrics.spine import curve_truth

        d = dict(data)
        size = tuple(int(s) for s in d[self.image_key].shape[1:3])
        doc = None
        for key in self.key_iterator(d):
            if isinstance(d[key], str | os.PathLike) and Path(d[key]).is_file():
                doc = load_curve(d[key])
        d[self.output_key] = torch.from_numpy(curve_truth(doc, size))
        return d
