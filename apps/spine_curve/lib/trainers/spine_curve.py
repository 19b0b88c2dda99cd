"""``spine_curve`` training: fine-tune the curve U-Net on the corrected curves (``final`` labels).

Labels are read in any format Slicer or a user leaves under ``labels/final/``: the app's 0/1 PNG, a one-slice
``.nii.gz`` / ``.nrrd`` or Slicer's ``.seg.nrrd``, binarised by segment name
(:func:`monai_gamanet.io.uploads.read_curve_label`, the segment names kept in the label's info); unreadable labels are
left out and named in the log. The estimated depth of every photo is cached once per depth model in the work folder.
The rest (candidate outside ``models/``, validation, atomic swap only if better): :mod:`lib.trainers.candidate`.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
from PIL import Image

from lib.trainers.candidate import CandidateTrainer, split_entries
from monai_gamanet.io.uploads import UploadError, read_curve_label

logger = logging.getLogger(__name__)


class SpineCurveTrainer(CandidateTrainer):
    """Fine-tune ``spine_curve`` (line agreement at the photo's size decides the swap: threshold-free, the bundle's
    own validation figure, :mod:`monai_gamanet.metrics.agreement`)."""

    bundle = "spine_curve_segmentation"
    metric = "line_agreement"

    def __init__(self, models, work_dir, curve_overrides=None, depth_overrides=None, epochs=10, fine_tune=True):
        super().__init__(
            "Fine-tune the spine curve U-Net on the corrected (final) curves; swapped in only if better",
            models.curve,
            work_dir,
            curve_overrides,
            epochs,
            fine_tune,
        )
        self.models, self.depth_overrides = models, dict(depth_overrides or {})

    def datalist(self, datastore, folder: Path) -> dict[str, list[dict]]:
        entries = {}
        for image_id, (photo, label) in datastore.labelled_files("final").items():
            with Image.open(photo) as img:
                size = img.size
            try:
                mask = read_curve_label(label, size)  # stored by the datastore as the 0/1 curve PNG
            except UploadError as err:
                logger.warning("label of %s left out: %s", image_id, err)
                continue
            png = folder / "labels" / f"{image_id}.png"
            png.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(mask).save(png)
            entries[image_id] = {"image": str(photo), "label": str(png)}
        return split_entries(entries, "a 'final' curve label (submit more corrected curves)")

    def extra_overrides(self, run: Path) -> dict[str, object]:
        return {
            "depth_bundle_root": str(self.models.depth.bundle_root),
            "depth_overrides": self.depth_overrides,
            "depth_cache_dir": str(self.work_dir / "depth_cache"),  # estimated once per photo and depth model
        }

    def score(self, weights_root: Path, items: list[dict], device: str) -> float:
        """Mean line agreement at the photo's size over ``items`` (the centre line read as the model's reports read
        it, against the corrected curve's; labels without a band left out; none left: 0)."""
        from monai_gamanet.inference.chain import SpineChain, load_photo
        from monai_gamanet.inference.curve import CurvePredictor
        from monai_gamanet.metrics.agreement import line_agreement

        curve = CurvePredictor.from_bundle(weights_root, self.overrides, device)
        chain = SpineChain(self.models.depth.get(device), curve)
        scores = []
        for item in items:
            photo = load_photo(item["image"])
            probability = chain.curve.probability(photo, chain.depth_for_curve(photo))  # (W, H)
            truth = np.asarray(Image.open(item["label"])).T
            scores.append(line_agreement(probability, truth, curve.decoding))
        scored = [s for s in scores if not math.isnan(s)]
        return float(np.mean(scored)) if scored else 0.0
