"""The curve bundle's inference output, written by a MONAI transform: per photo the curve label, the morphology
report and the 3D Slicer curve, measured by the chain's own :func:`~monai_gamanet.inference.chain.describe_curve`."""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from pathlib import Path

import numpy as np
import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform, Resize
from PIL import Image

from monai_gamanet.data.files import atomic_write
from monai_gamanet.inference.chain import describe_curve
from monai_gamanet.inference.depth import photo_size
from monai_gamanet.inference.depth_cache import DEPTH_KEY, DEPTH_STEPS
from monai_gamanet.io.markups import write_markups

__all__ = ["SaveCurveResultd"]


class SaveCurveResultd(MapTransform):
    """Write one photo's curve result into ``output_dir``: ``NAME_curve.png`` (0/1 label at the photo's size),
    ``NAME_report.json`` (morphology, or ``curve_found: false`` and why) and ``NAME_curve.mrk.json`` (the curve on
    the photo, when one was found); ``NAME`` is the photo's file stem.

    ``keys``: the network's logits (2, W, H) at its working size; the photo's own size and name come from the
    ``image`` key's meta. The depth for the report's surface rotation is the photo's cached D channel (the
    ``depth_relative`` key's file, as the bundle's preprocessing loaded it), at the photo's size; none for an
    RGB-only model (rotation then 0).
    """

    def __init__(
        self,
        keys: KeysCollection = "pred",
        output_dir: str | Path = "predictions",
        decoding: str = "probability",
        spacing: float = 1.0,
        depth_range_mm: float | None = None,
        image_key: str = "image",
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.output_dir, self.decoding, self.spacing = Path(output_dir), decoding, float(spacing)
        self.depth_range_mm, self.image_key = depth_range_mm, image_key

    def _depth(self, d: Mapping, size: tuple[int, ...]) -> np.ndarray:
        source = getattr(d.get(DEPTH_KEY), "meta", {}).get("filename_or_obj")
        if not source:
            return np.zeros(size, np.float32)
        with Image.open(source) as img:
            return np.asarray(img, np.float32).T / DEPTH_STEPS

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        image = d[self.image_key]
        size = photo_size(image)
        name = Path(str(image.meta.get("filename_or_obj", "photo"))).name.split(".")[0]
        self.output_dir.mkdir(parents=True, exist_ok=True)
        for key in self.key_iterator(d):
            logits = torch.as_tensor(d[key]).float()
            probability = np.asarray(Resize(size, mode="bilinear")(torch.softmax(logits, 0)[1:].cpu())[0])
            report, flat, _, label = describe_curve(
                probability, self._depth(d, size), name, self.spacing, self.depth_range_mm, self.decoding
            )
            picture = Image.fromarray(np.ascontiguousarray(label.T))
            atomic_write(self.output_dir / f"{name}_curve.png", lambda tmp, p=picture: p.save(tmp, format="PNG"))
            text = json.dumps({"image": str(image.meta.get("filename_or_obj", "")), **report}, indent=1)
            atomic_write(self.output_dir / f"{name}_report.json", lambda tmp, s=text: Path(tmp).write_text(s))
            if flat is not None:
                write_markups(self.output_dir / f"{name}_curve.mrk.json", flat)
        return d
