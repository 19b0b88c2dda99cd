"""The evaluation report of the depth bundle: metrics as JSON and as the paper's table, plus pictures.

The numbers come from MONAI: one ``IgniteMetricHandler`` per metric (:func:`depth_metric_handlers`, raw and
least-squares aligned, with ``save_details`` so every image's value is kept in ``engine.state.metric_details``)
and MONAI's ``MetricsSaver`` writes them as CSV. :class:`DepthEvaluationReport` adds what MONAI has no handler
for: the table in the paper's format, a JSON file with per-image values named by photo (what the paired
comparisons of ``paper_tables`` read) and the pictures.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from ignite.engine import Engine, Events

from monai_gamanet.io.pictures import colorize_depth, panel_grid
from monai_gamanet.metrics.depth import DEPTH_METRICS
from monai_gamanet.utils import split_depth_label

__all__ = ["ALIGNED", "DepthEvaluationReport", "EvaluationReport", "depth_metric_handlers", "metrics_markdown"]

logger = logging.getLogger(__name__)

ALIGNED = "aligned_"  # prefix of a metric computed after the per-image least-squares scale-and-shift fit
HEADERS = {
    "abs_rel": "Abs Rel",
    "rmse": "RMSE",
    "sq_rel": "Sq Rel",
    "delta1": "δ<1.25",
    "delta2": "δ<1.25²",
    "delta3": "δ<1.25³",
}
ALIGNED_COLUMNS = tuple(ALIGNED + m for m in ("abs_rel", "rmse", "delta1"))


def header(name: str) -> str:
    return f"{HEADERS[name[len(ALIGNED) :]]} (aligned)" if name.startswith(ALIGNED) else HEADERS[name]


def metrics_markdown(rows: dict[str, dict[str, float]], columns: Sequence[str] | None = None) -> str:
    """A table in the paper's format (Tables 1-3): one row per method, errors then accuracies.

    ``columns`` default: the paper's six, then the aligned Abs Rel, RMSE and δ<1.25 where the rows have them.
    """
    if columns is None:
        columns = list(DEPTH_METRICS) + [c for c in ALIGNED_COLUMNS if all(c in r for r in rows.values())]
    head = "| Method | " + " | ".join(header(m) for m in columns) + " |\n"
    head += "|---" * (len(columns) + 1) + "|\n"
    cell = lambda r, m: f"{r[m]:.4f}" if m in r else "-"  # noqa: E731
    return head + "\n".join(f"| {name} | " + " | ".join(cell(r, m) for m in columns) + " |" for name, r in rows.items())


def depth_metric_handlers(
    names: Sequence[str] | None = None, exclude: Sequence[str] = (), eps: float = 1e-3, save_details: bool = True
) -> dict:
    """MONAI ``IgniteMetricHandler`` s of the depth metrics, for an evaluator's key or additional metrics.

    Args:
        names: metric names: the six of :data:`DEPTH_METRICS`, each also as ``"aligned_<name>"`` (scored after the
            per-image least-squares scale-and-shift fit); default all twelve.
        exclude: names left out (e.g. the key metric, given separately).
        eps: see :func:`~monai_gamanet.metrics.depth.compute_depth_metrics`.
        save_details: keep every image's value in ``engine.state.metric_details`` (for ``MetricsSaver``).
    """
    from monai.handlers import IgniteMetricHandler, from_engine

    from monai_gamanet.metrics.depth import DepthMetric

    every = [*DEPTH_METRICS, *(ALIGNED + m for m in DEPTH_METRICS)]
    unknown = [n for n in (names or []) if n not in every]
    if unknown:
        raise ValueError(f"unknown depth metric(s) {unknown}; choose from {every}.")
    handlers = {}
    for name in names or every:
        if name in exclude:
            continue
        aligned = name.startswith(ALIGNED)
        metric = DepthMetric(
            name[len(ALIGNED) :] if aligned else name, eps=eps, align="scale_shift" if aligned else "none"
        )
        handlers[name] = IgniteMetricHandler(
            metric_fn=metric, output_transform=from_engine(["pred", "label"]), save_details=save_details
        )
    return handlers


def _display(t: torch.Tensor) -> np.ndarray:
    """(C, W, H) tensor -> (H, W[, C]) numpy for pictures."""
    a = t.detach().float().cpu().numpy()
    return a[0].T if a.shape[0] == 1 else a.transpose(2, 1, 0)


class EvaluationReport:
    """What the bundles' evaluation reports share: collect at every iteration, write when the evaluation ends.

    Subclasses implement ``collect`` and ``write`` and extend ``reset`` with what they collect.

    Args:
        output_dir: report folder.
        name: row name of the table.
        n_pictures: images drawn in ``samples.png``.
    """

    def __init__(self, output_dir: str, name: str, n_pictures: int = 4) -> None:
        self.output_dir, self.name, self.n_pictures = Path(output_dir), name, n_pictures
        self.reset()

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.STARTED, self.reset)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.collect)
        engine.add_event_handler(Events.COMPLETED, self.write)

    def reset(self, engine: Engine | None = None) -> None:
        self.pictures: list[list[np.ndarray]] = []

    def collect(self, engine: Engine) -> None:
        raise NotImplementedError

    def write(self, engine: Engine) -> None:
        raise NotImplementedError


class DepthEvaluationReport(EvaluationReport):
    """Write the evaluation report when an evaluation completes, from the evaluator's MONAI metric handlers.

    Writes ``metrics.json`` (mean raw and aligned metrics, and every image's values named by its photo),
    ``metrics.md`` (the paper's table format, aligned columns beside the six) and ``samples.png`` (photo | ground
    truth | prediction | absolute error for the first ``n_pictures`` images) to ``output_dir``, and logs the
    table. Metrics come from ``engine.state.metrics`` and ``engine.state.metric_details`` (handlers made by
    :func:`depth_metric_handlers`, ``save_details=True``); this handler only names the images and draws them.

    Args:
        output_dir: report folder.
        name: row name of the table (e.g. the network).
        n_pictures: images shown in ``samples.png``.
    """

    def __init__(self, output_dir: str, name: str = "GAMA-Net", n_pictures: int = 4) -> None:
        super().__init__(output_dir, name, n_pictures)

    def reset(self, engine: Engine | None = None) -> None:
        super().reset(engine)
        self.images: list[str] = []

    def collect(self, engine: Engine) -> None:
        for sample in engine.state.output:
            source = getattr(sample["image"], "meta", {}).get("filename_or_obj", f"image {len(self.images)}")
            self.images.append(str(source))
            if len(self.pictures) < self.n_pictures:
                target, mask = split_depth_label(sample["label"][None])
                pred = sample["pred"]
                valid = _display(mask[0]) > 0
                gt, pr = _display(target[0]), _display(pred).clip(0.0, 1.0)
                error = np.where(valid, np.abs(pr - gt), 0.0)
                photo = (np.clip(_display(sample["image"]), 0, 1) * 255).astype(np.uint8)
                error_rgb = colorize_depth(error, valid, "magma", reverse=False)
                self.pictures.append([photo, colorize_depth(gt, valid), colorize_depth(pr, valid), error_rgb])

    def write(self, engine: Engine) -> None:
        details = {k: v for k, v in engine.state.metric_details.items() if k in engine.state.metrics}
        names = [n for n in (*DEPTH_METRICS, *(ALIGNED + m for m in DEPTH_METRICS)) if n in details]
        if not self.images or not names:
            logger.warning("no image was evaluated, or no depth metric handler saved details; no report written")
            return
        values = {n: torch.as_tensor(details[n]).reshape(-1).float().cpu().tolist() for n in names}
        if any(len(v) != len(self.images) for v in values.values()):
            raise RuntimeError(f"{len(self.images)} images evaluated but metric details of other lengths: {names}")
        mean = {n: float(engine.state.metrics[n]) for n in names}
        per_image = [{"image": img, **{n: values[n][i] for n in names}} for i, img in enumerate(self.images)]
        raw, aligned = ({n: mean[n] for n in names if n.startswith(ALIGNED) == a} for a in (False, True))
        self.output_dir.mkdir(parents=True, exist_ok=True)
        report = {"name": self.name, "n_images": len(self.images), "metrics": raw, "metrics_aligned": aligned}
        (self.output_dir / "metrics.json").write_text(json.dumps({**report, "per_image": per_image}, indent=1))
        table = metrics_markdown({self.name: mean})
        (self.output_dir / "metrics.md").write_text(table + "\n")
        if self.pictures:
            captions = [f"{Path(p).name}: photo | ground truth | prediction | |error|" for p in self.images]
            panel_grid(self.pictures, captions[: len(self.pictures)]).save(self.output_dir / "samples.png")
        logger.info("depth metrics on %d images:\n%s", len(self.images), table)
