"""Train a bundle into a candidate, score it against the served model on a fixed validation list, swap if better.

MONAI Label's ``BundleTrainTask`` writes into the served bundle's ``models/`` as it trains, reports DONE even when
no validation split let it save anything, loads checkpoints non-strictly and returns empty stats.
:class:`CandidateTrainer` (the app's two trainers derive from it) instead:

1. builds a datalist from the studies folder's labels (the subclass's :meth:`~CandidateTrainer.datalist`) and
   splits it by a hash of the image id (:func:`validation_split`: a photo stays in its split as labels are added,
   so the validation list only grows); too few labels is an error (MONAI Label's ERROR, not a silent DONE);
2. trains the bundle (``train.yaml``, ``monai.bundle run`` in a subprocess, its log in the run folder) into a
   candidate folder outside ``models/``, from the served weights (``initial_weights``, strict) unless
   ``fine_tune`` is off;
3. scores candidate and served model on the validation list (the subclass's :meth:`~CandidateTrainer.score`,
   higher is better) and replaces the served ``models/model.pt`` atomically (:func:`swap_if_better`) only when the
   candidate is strictly better; the infer tasks load it on their next request;
4. a request killed mid-run (the server stopped with it) is continued by the next request that has the same labels,
   epochs and served model: same run folder, the bundle's ``resume: auto`` from its ``models/last.pt``;
5. writes ``train_stats.json``, what :meth:`~CandidateTrainer.stats` returns for Slicer's panel (epoch,
   total_epochs, loss, best_metric, total_time) with the decision and both scores; while a run trains, the same
   fields read live from its log, so Slicer's progress bar moves.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import time
from pathlib import Path
from typing import Any

from monailabel.interfaces.tasks.train import TrainTask

from monai_gamanet.data.files import atomic_copy, atomic_write
from monai_gamanet.inference.bundles import ReloadingModel, run_bundle

logger = logging.getLogger(__name__)

MIN_LABELS = 2  # one to train on, one to validate on
VALIDATION_EVERY = 5


def validation_split(image_id: str) -> bool:
    """Whether a photo belongs to the fixed validation list (a hash of its id: stable as labels are added)."""
    return int(hashlib.sha256(image_id.encode()).hexdigest(), 16) % VALIDATION_EVERY == 0


def split_entries(entries: dict[str, dict], what: str) -> dict[str, list[dict]]:
    """``{image_id: datalist entry}`` -> training / validation (and test = validation) by :func:`validation_split`.

    Raises:
        RuntimeError: fewer than :data:`MIN_LABELS` entries (nothing to validate a new model on).
    """
    if len(entries) < MIN_LABELS:
        raise RuntimeError(
            f"{len(entries)} photo(s) with {what}: at least {MIN_LABELS} are needed (one to train on, one to validate "
            "the new model on before it replaces the served one)."
        )
    split: dict[str, list[dict]] = {"training": [], "validation": []}
    for image_id in sorted(entries):
        split["validation" if validation_split(image_id) else "training"].append(entries[image_id])
    if not split["validation"]:  # few labels, none hashed to validation: the last one validates
        split["validation"].append(split["training"].pop())
    if not split["training"]:
        split["training"].append(split["validation"].pop(0))
    split["test"] = list(split["validation"])
    return split


def fingerprint(split: dict[str, list[dict]]) -> str:
    """A digest of a datalist's entries and the bytes of every file they name (photos, labels, depth)."""
    h = hashlib.sha256()
    for part in ("training", "validation"):
        for entry in split.get(part, []):
            for name, value in sorted(entry.items()):
                h.update(f"{part}/{name}/{Path(str(value)).name}".encode())
                if Path(str(value)).is_file():
                    h.update(Path(str(value)).read_bytes())
    return h.hexdigest()


def swap_if_better(candidate: Path, served: Path, candidate_score: float, served_score: float) -> bool:
    """Put ``candidate`` in place of ``served`` if it scored strictly better: copied beside the served file, flushed
    to disk, then renamed over it (:func:`~monai_gamanet.data.files.atomic_copy`), so a reader, or a server killed
    meanwhile, sees the old model or the new one, never half of one."""
    if not candidate_score > served_score:
        return False
    atomic_copy(candidate, served, durable=True)
    return True


_EPOCH = re.compile(r"Epoch: (\d+)/(\d+), Iter: \d+/\d+ -- \w+: ([0-9.]+)")
_BEST = re.compile(r"Got new best metric of \w+: ([0-9.]+)")


def progress(log: str) -> dict[str, Any]:
    """Epoch, total epochs, last training loss and best validation metric so far, from a bundle run's log."""
    epochs = _EPOCH.findall(log)
    if not epochs:
        return {}
    epoch, total, loss = epochs[-1]
    best = _BEST.findall(log)
    stats = {"epoch": int(epoch), "total_epochs": int(total), "loss": float(loss)}
    return stats | ({"best_metric": round(float(best[-1]), 4)} if best else {})


class CandidateTrainer(TrainTask):
    """See the module's doc; subclasses set :attr:`bundle` and :attr:`metric` and define ``datalist`` / ``score``.

    Args:
        description: what MONAI Label's info shows.
        model: the served model (:class:`ReloadingModel` of the bundle this trainer trains).
        work_dir: run folders, the depth cache and ``train_stats.json`` (outside the bundle's ``models/``).
        overrides: the bundle's settings the served model was trained with (e.g. ``spatial_size``).
        epochs: default epochs per request (``max_epochs`` in the request overrides it).
        fine_tune: start from the served weights (default) or from scratch.
    """

    bundle = ""
    metric = ""

    def __init__(
        self,
        description: str,
        model: ReloadingModel,
        work_dir: str | Path,
        overrides: dict | None = None,
        epochs: int = 10,
        fine_tune: bool = True,
    ) -> None:
        super().__init__(description)
        self.model, self.work_dir, self.overrides = model, Path(work_dir), dict(overrides or {})
        self.epochs, self.fine_tune = epochs, fine_tune

    def config(self) -> dict[str, Any]:
        return {"max_epochs": self.epochs}

    def stats(self) -> dict[str, Any]:
        """The last run's statistics; while a run trains, its progress read from its log (Slicer's bars).

        A run that has started but not yet logged an epoch answers epoch 0 of its epochs without ``total_time``:
        Slicer's progress bar reads a ``total_time`` as "finished", so the previous run's stats showed 1 %."""
        path = self.work_dir / "train_stats.json"
        done = json.loads(path.read_text()) if path.is_file() else {}
        runs = sorted(p for p in self.work_dir.glob("run_*") if (p / "request").is_file())
        if runs and not (runs[-1] / "finished").exists():
            log = runs[-1] / "train.log"
            live = progress(log.read_text(errors="replace")) if log.is_file() else {}
            epochs = int((runs[-1] / "request").read_text().split()[1])
            return {"epoch": 0, "total_epochs": epochs, **live, "status": "training", "run": str(runs[-1])}
        return done

    def datalist(self, datastore, folder: Path) -> dict[str, list[dict]]:
        raise NotImplementedError

    def extra_overrides(self, run: Path) -> dict[str, object]:
        """Bundle settings of this trainer beyond the common ones (e.g. where the depth model is)."""
        return {}

    def score(self, weights_root: Path, items: list[dict], device: str) -> float:
        raise NotImplementedError

    def __call__(self, request: dict, datastore) -> dict:
        """Train, score, swap; a run that fails leaves its reason in ``train_stats.json`` (Slicer's panel) and the
        served model as it was, then fails (MONAI Label's ERROR)."""
        start = time.time()
        try:
            return self._train(request, datastore, start)
        except Exception as err:
            stats = {
                "status": "failed",
                "error": f"{type(err).__name__}: {err}",
                "total_time": f"{time.time() - start:.0f}s",
            }
            atomic_write(
                self.work_dir / "train_stats.json", lambda tmp: Path(tmp).write_text(json.dumps(stats, indent=1))
            )
            raise

    def _train(self, request: dict, datastore, start: float) -> dict:
        epochs = int(request.get("max_epochs", self.epochs))
        if not 1 <= epochs <= 1000:
            raise ValueError(f"max_epochs must be between 1 and 1000, not {epochs}.")
        device = str(request.get("device") or "cpu")
        run = self.work_dir / time.strftime("run_%Y%m%d_%H%M%S")
        (run / "data").mkdir(parents=True, exist_ok=True)
        try:
            split = self.datalist(datastore, run / "data")
        except BaseException:
            shutil.rmtree(run, ignore_errors=True)  # nothing was trained: no run folder left behind
            raise
        served_stamp = self.model.weights.stat().st_mtime_ns if self.fine_tune and self.model.available() else 0
        key = f"{fingerprint(split)} {epochs} {served_stamp}"
        unfinished = self.unfinished_run(key)
        if unfinished is not None:  # the same request was killed mid-run (e.g. with the server): continue it
            shutil.rmtree(run)
            run, split = unfinished, json.loads((unfinished / "data" / "datalist.json").read_text())
            logger.info("%s: resuming the unfinished run %s from its last checkpoint", self.bundle, run)
        else:
            (run / "data" / "datalist.json").write_text(json.dumps(split, indent=1))
            (run / "request").write_text(key)
        try:
            return self._train_in(run, split, epochs, device, start)
        finally:
            (run / "finished").touch()  # done or failed: a later request starts afresh

    def unfinished_run(self, key: str) -> Path | None:
        """The latest run folder if it never finished, was started by the same request (same labels, epochs and
        served model: ``key``) and has a checkpoint to continue from (the bundle's ``resume: auto``)."""
        runs = sorted(p for p in self.work_dir.glob("run_*") if (p / "request").is_file())
        if not runs or (runs[-1] / "finished").exists():
            return None
        last = runs[-1]
        same = (last / "request").read_text() == key
        return last if same and (last / "candidate" / "models" / "last.pt").is_file() else None

    def _train_in(self, run: Path, split: dict, epochs: int, device: str, start: float) -> dict:
        served = self.model.weights
        logger.info(
            "%s: training on %d photos, validating on %d, %d epochs, into %s",
            self.bundle,
            len(split["training"]),
            len(split["validation"]),
            epochs,
            run / "candidate",
        )
        overrides = {
            **self.overrides,
            "bundle_root": str(run / "candidate"),
            "dataset_dir": str(run / "data"),
            "epochs": epochs,
            "num_workers": 0,
            "resume": "auto",  # a run folder of a killed request continues from its models/last.pt
            "initial_weights": str(served) if self.fine_tune and served.is_file() else "",
            "device": f"$torch.device('{device}')",
            **self.extra_overrides(run),
        }
        run_bundle(self.bundle, ["train.yaml"], overrides, run / "train.log")
        candidate = run / "candidate" / "models" / "model.pt"
        if not candidate.is_file():
            raise RuntimeError(f"training saved no model ({candidate}); see {run / 'train.log'}")
        new = self.score(run / "candidate", split["validation"], device)
        old = self.score(self.model.bundle_root, split["validation"], device) if served.is_file() else float("-inf")
        swapped = swap_if_better(candidate, served, new, old)
        stats = {
            **progress((run / "train.log").read_text(errors="replace")),
            "epoch": epochs,
            "total_epochs": epochs,
            "best_metric": round(max(new, old), 4),
            "metric": self.metric,
            "candidate_score": round(new, 4),
            "served_score": round(old, 4) if old > float("-inf") else None,
            "swapped": swapped,
            "training_photos": len(split["training"]),
            "validation_photos": len(split["validation"]),
            "total_time": f"{time.time() - start:.0f}s",
            "run": str(run),
        }
        atomic_write(self.work_dir / "train_stats.json", lambda tmp: Path(tmp).write_text(json.dumps(stats, indent=1)))
        kept = "swapped in" if swapped else "served model kept"
        logger.info("%s: validation %s candidate %.4f, served %.4f -> %s", self.bundle, self.metric, new, old, kept)
        return stats
