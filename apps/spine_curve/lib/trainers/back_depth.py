"""``back_depth`` training: fine-tune GAMA-Net on the photos that have depth ground truth.

Depth ground truth is a label with the tag ``depth`` (``labels/depth/<id>.png``: 16-bit, millimetres from the
camera, 0 = no measurement, the photo's size; checked on upload and again here), never a file beside the photos
(every image at the top of the studies folder is a study). The validation score deciding the swap is the paper's
delta < 1.25 on relative depth, the bundle's own target normalisation. The rest: :mod:`lib.trainers.candidate`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lib.datastore import DEPTH_TAG
from lib.trainers.candidate import CandidateTrainer, split_entries
from monai_gamanet.io.uploads import UploadError, check_depth_map

logger = logging.getLogger(__name__)


class BackDepthTrainer(CandidateTrainer):
    """Fine-tune ``back_depth`` (validation delta < 1.25 decides the swap)."""

    bundle = "back_depth_estimation"
    metric = "delta1"

    def __init__(self, models, work_dir, depth_overrides=None, epochs=10, fine_tune=True):
        super().__init__(
            "Fine-tune GAMA-Net on the photos with depth ground truth (label tag 'depth'); swapped in only if better",
            models.depth,
            work_dir,
            depth_overrides,
            epochs,
            fine_tune,
        )

    def datalist(self, datastore, folder: Path) -> dict[str, list[dict]]:
        entries = {}
        for image_id, (photo, depth) in datastore.labelled_files(DEPTH_TAG).items():
            with Image.open(photo) as img:
                size = img.size
            try:
                check_depth_map(depth, size)
            except UploadError as err:
                logger.warning("depth of %s left out: %s", image_id, err)
                continue
            entries[image_id] = {"image": str(photo), "depth": str(depth)}
        return split_entries(entries, f"depth ground truth (label tag '{DEPTH_TAG}')")

    def score(self, weights_root: Path, items: list[dict], device: str) -> float:
        """Mean delta < 1.25 over ``items``: relative depth at the photo's size against the normalised truth."""
        from monai_gamanet.inference.depth import DepthPredictor
        from monai_gamanet.metrics.depth import DEPTH_METRICS, depth_metrics_per_image
        from monai_gamanet.transforms import LoadBackSampled, NormalizeDepth
        from monai_gamanet.transforms.depth import valid_depth_mask

        model = DepthPredictor.from_bundle(weights_root, self.overrides, device)
        percentiles = self.overrides.get("depth_percentiles", (0.0, 100.0))
        load, normalize = LoadBackSampled(keys="depth"), NormalizeDepth(*percentiles)
        scores = []
        for item in items:
            raw = load({"depth": item["depth"]})["depth"].float()  # (1, W, H) millimetres
            target, mask = normalize(raw), valid_depth_mask(raw).float()
            pred = torch.from_numpy(np.ascontiguousarray(model(item["image"])))[None]
            metrics = depth_metrics_per_image(pred[None], target[None], mask[None])[0]
            scores.append(float(metrics[DEPTH_METRICS.index("delta1")]))
        return float(np.mean(scores))
