"""``spine_curve`` training: fine-tune the curve U-Net on the studies folder's ``final`` labels, swap it in only if
it scores better on a fixed validation list.

MONAI Label's ``BundleTrainTask`` writes into the served bundle's ``models/`` as it trains, reports DONE even when
no validation split let it save anything, and returns empty stats. This trainer instead:

1. reads every ``final`` label (0/1 PNG as the app stores them, or a one-slice ``.nii.gz`` / ``.nrrd`` /
   ``.seg.nrrd`` copied in by hand; binarised by segment name, :func:`monai_gamanet.uploads.read_curve_label`)
   into a datalist of photo + 0/1 PNG in a work folder;
2. splits it by a hash of the image id (one photo in five, at least one, to validation): a photo stays in the
   same split as labels are added, so the validation list only grows;
3. trains the ``spine_curve_segmentation`` bundle (``train.yaml``, ``monai.bundle run`` in a subprocess, the
   estimated depth cached as the bundle does) into a candidate folder outside ``models/``, starting from the served
   weights (``initial_weights``, strict);
4. scores the candidate and the served model on the validation list (Dice of the curve class at the photo's size)
   and replaces ``models/model.pt`` atomically (``os.replace``) only when the candidate is better; the infer tasks
   pick it up on their next request;
5. writes ``train_stats.json`` (what :meth:`stats` reports: epoch, total_epochs, best_metric, total_time, the
   swap decision) and fails (non-zero exit, MONAI Label's ERROR) when there is nothing to validate on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from monailabel.interfaces.tasks.train import TrainTask
from PIL import Image

from monai_gamanet.bundle_runner import ReloadingModel, run_bundle
from monai_gamanet.uploads import UploadError, read_curve_label

logger = logging.getLogger(__name__)

MIN_LABELS = 2  # one to train on, one to validate on
VALIDATION_EVERY = 5


def validation_split(image_id: str) -> bool:
    """Whether a photo belongs to the fixed validation list (a hash of its id: stable as labels are added)."""
    return int(hashlib.sha256(image_id.encode()).hexdigest(), 16) % VALIDATION_EVERY == 0


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    inter = float(np.logical_and(pred, truth).sum())
    total = float(pred.sum() + truth.sum())
    return 1.0 if total == 0 else 2 * inter / total


def swap_if_better(candidate: Path, served: Path, candidate_score: float, served_score: float) -> bool:
    """Put ``candidate`` in place of ``served`` if it scored strictly better: copied beside the served file, then
    renamed over it (``os.replace``), so a reader sees the old model or the new one, never half of one."""
    if not candidate_score > served_score:
        return False
    tmp = served.with_name(f".{served.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(candidate, tmp)
        os.replace(tmp, served)
    finally:
        tmp.unlink(missing_ok=True)
    return True


class SpineCurveTrainer(TrainTask):
    """Fine-tune ``spine_curve`` on the corrected curves; see the module's doc.

    Args:
        models: the app's models (``depth`` and ``curve`` :class:`ReloadingModel`).
        work_dir: where datalists, candidates, logs and ``train_stats.json`` go (outside the bundle's ``models/``).
        curve_overrides: the curve bundle's settings the served model was trained with (e.g. ``spatial_size``).
        depth_overrides: the depth bundle's settings (for the cached estimated depth).
        epochs: default epochs per request (``max_epochs`` in the request overrides it).
        fine_tune: start from the served weights (default) or from scratch.
    """

    def __init__(
        self,
        models,
        work_dir: str | Path,
        curve_overrides: dict | None = None,
        depth_overrides: dict | None = None,
        epochs: int = 10,
        fine_tune: bool = True,
    ) -> None:
        super().__init__("Fine-tune the spine curve U-Net on the corrected (final) curves; swapped in only if better")
        self.models, self.work_dir = models, Path(work_dir)
        self.curve_overrides, self.depth_overrides = dict(curve_overrides or {}), dict(depth_overrides or {})
        self.epochs, self.fine_tune = epochs, fine_tune

    def config(self) -> dict[str, Any]:
        return {"max_epochs": self.epochs}

    def stats(self) -> dict[str, Any]:
        path = self.work_dir / "train_stats.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    # ---- data ---------------------------------------------------------------------------------------------------

    def datalist(self, datastore, folder: Path) -> dict[str, list[dict]]:
        """Photos with a ``final`` label, labels as 0/1 PNGs in ``folder``, split into training / validation."""
        split: dict[str, list[dict]] = {"training": [], "validation": [], "test": []}
        skipped = []
        for image_id in sorted(datastore.get_labeled_images("final")):
            photo = Path(datastore.get_image_uri(image_id))
            label = Path(datastore.get_label_uri(image_id, "final"))
            info = datastore.get_label_info(image_id, "final") or {}
            segments = info.get("label_info") if isinstance(info.get("label_info"), list) else None
            with Image.open(photo) as img:
                size = img.size
            try:
                mask = read_curve_label(label, size, segments)
            except UploadError as err:
                skipped.append(f"{image_id}: {err}")
                continue
            png = folder / "labels" / f"{image_id}.png"
            png.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(mask).save(png)
            entry = {"image": str(photo), "label": str(png)}
            split["validation" if validation_split(image_id) else "training"].append(entry)
        for line in skipped:
            logger.warning("label left out: %s", line)
        n = len(split["training"]) + len(split["validation"])
        if n < MIN_LABELS:
            raise RuntimeError(
                f"{n} photo(s) with a 'final' label: at least {MIN_LABELS} are needed (one to train on, one to "
                "validate the new model on before it replaces the served one). Submit more corrected curves."
            )
        if not split["validation"]:  # few labels, none hashed to validation: the last one validates
            split["validation"].append(split["training"].pop())
        if not split["training"]:
            split["training"].append(split["validation"].pop(0))
        split["test"] = list(split["validation"])
        (folder / "datalist.json").write_text(json.dumps(split, indent=1))
        return split

    # ---- scoring ------------------------------------------------------------------------------------------------

    def score(self, weights_root: Path, items: list[dict], device: str) -> float:
        """Mean Dice of the curve class at the photo's size over ``items``, the model in ``weights_root``."""
        from monai_gamanet.depth_cache import estimate_depth, write_depth_png
        from monai_gamanet.pipeline import curve_probability, load_curve_model

        curve = ReloadingModel(load_curve_model, weights_root, self.curve_overrides).get(device)
        depth_model = self.models.depth.get(device)
        scores = []
        with tempfile.TemporaryDirectory(prefix="spine_curve_score_") as tmp:
            for item in items:
                depth_png = Path(tmp) / "depth.png"
                write_depth_png(depth_png, estimate_depth(depth_model, item["image"]))
                pred = curve_probability(item["image"], depth_png, curve) > 0.5  # (W, H)
                truth = np.asarray(Image.open(item["label"])).T > 0
                scores.append(dice(pred, truth))
        return float(np.mean(scores))

    # ---- the task -----------------------------------------------------------------------------------------------

    def __call__(self, request: dict, datastore) -> dict:
        start = time.time()
        epochs = int(request.get("max_epochs", self.epochs))
        if not 1 <= epochs <= 1000:
            raise ValueError(f"max_epochs must be between 1 and 1000, not {epochs}.")
        device = str(request.get("device") or "cpu")
        run = self.work_dir / time.strftime("run_%Y%m%d_%H%M%S")
        run.mkdir(parents=True, exist_ok=True)
        split = self.datalist(datastore, run / "data")
        served = self.models.curve.weights
        logger.info(
            "training on %d photos, validating on %d, %d epochs, into %s",
            len(split["training"]),
            len(split["validation"]),
            epochs,
            run / "candidate",
        )
        overrides = {
            **self.curve_overrides,
            "bundle_root": str(run / "candidate"),
            "dataset_dir": str(run / "data"),
            "depth_cache_dir": str(self.work_dir / "depth_cache"),  # estimated once per photo and depth model
            "depth_bundle_root": str(self.models.depth.bundle_root),
            "depth_overrides": self.depth_overrides,
            "epochs": epochs,
            "num_workers": 0,
            "resume": False,
            "initial_weights": str(served) if self.fine_tune and served.is_file() else "",
            "device": f"$torch.device('{device}')",
        }
        run_bundle("spine_curve_segmentation", ["train.yaml"], overrides, run / "train.log")
        candidate = run / "candidate" / "models" / "model.pt"
        if not candidate.is_file():
            raise RuntimeError(f"training saved no model ({candidate}); see {run / 'train.log'}")
        new = self.score(run / "candidate", split["validation"], device)
        old = self.score(self.models.curve.bundle_root, split["validation"], device) if served.is_file() else -1.0
        swapped = swap_if_better(candidate, served, new, old)
        stats = {
            "epoch": epochs,
            "total_epochs": epochs,
            "best_metric": round(max(new, old), 4),
            "candidate_dice": round(new, 4),
            "served_dice": round(old, 4) if old >= 0 else None,
            "swapped": swapped,
            "training_photos": len(split["training"]),
            "validation_photos": len(split["validation"]),
            "total_time": f"{time.time() - start:.0f}s",
            "run": str(run),
        }
        (self.work_dir / "train_stats.json").write_text(json.dumps(stats, indent=1))
        logger.info(
            "validation Dice: candidate %.4f, served %.4f -> %s",
            new,
            old,
            "swapped in" if swapped else "served model kept",
        )
        return stats
