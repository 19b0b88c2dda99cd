"""The evaluation report of the depth bundle: metrics as JSON and as the paper's table, plus pictures."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
from ignite.engine import Engine, Events

from monai_gamanet.metrics.depth import DEPTH_METRICS, depth_metrics_per_image
from monai_gamanet.utils import split_depth_label
from monai_gamanet.visualize import colorize_depth, panel_grid

__all__ = ["DepthEvaluationReport", "metrics_markdown"]

logger = logging.getLogger(__name__)

HEADERS = {
    "abs_rel": "Abs Rel",
    "rmse": "RMSE",
    "sq_rel": "Sq Rel",
    "delta1": "δ<1.25",
    "delta2": "δ<1.25²",
    "delta3": "δ<1.25³",
}


def metrics_markdown(rows: dict[str, dict[str, float]]) -> str:
    """A table in the paper's format (Tables 1-3): one row per method, errors then accuracies."""
    head = "| Method | " + " | ".join(HEADERS[m] for m in DEPTH_METRICS) + " |\n"
    head += "|---" * (len(DEPTH_METRICS) + 1) + "|\n"
    return head + "\n".join(
        f"| {name} | " + " | ".join(f"{r[m]:.4f}" for m in DEPTH_METRICS) + " |" for name, r in rows.items()
    )


def _display(t: torch.Tensor) -> np.ndarray:
    """(C, W, H) tensor -> (H, W[, C]) numpy for pictures."""
    a = t.detach().float().cpu().numpy()
    return a[0].T if a.shape[0] == 1 else a.transpose(2, 1, 0)


class DepthEvaluationReport:
    """Collect per-image depth metrics during an evaluation and write the report when it completes.

    Writes ``metrics.json`` (mean and per-image metrics), ``metrics.md`` (the paper's table format) and
    ``samples.png`` (photo | ground truth | prediction | absolute error for the first ``n_pictures`` images) to
    ``output_dir``, and logs the table.

    Args:
        output_dir: report folder.
        name: row name of the table (e.g. the network).
        n_pictures: images shown in ``samples.png``.
        eps: see :func:`~monai_gamanet.metrics.compute_depth_metrics`.
    """

    def __init__(self, output_dir: str, name: str = "GAMA-Net", n_pictures: int = 4, eps: float = 1e-3) -> None:
        self.output_dir, self.name, self.n_pictures, self.eps = Path(output_dir), name, n_pictures, eps
        self.rows: list[dict] = []
        self.pictures: list[list[np.ndarray]] = []

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.STARTED, self.reset)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.collect)
        engine.add_event_handler(Events.COMPLETED, self.write)

    def reset(self, engine: Engine) -> None:
        self.rows, self.pictures = [], []

    def collect(self, engine: Engine) -> None:
        for sample in engine.state.output:
            pred, label = sample["pred"], sample["label"]
            target, mask = split_depth_label(label[None])
            values = depth_metrics_per_image(pred[None].float(), target.float(), mask, self.eps)[0]
            source = getattr(sample["image"], "meta", {}).get("filename_or_obj", f"image {len(self.rows)}")
            self.rows.append(
                {"image": str(source), **{m: float(v) for m, v in zip(DEPTH_METRICS, values, strict=True)}}
            )
            if len(self.pictures) < self.n_pictures:
                valid = _display(mask[0]) > 0
                gt, pr = _display(target[0]), _display(pred)
                error = np.where(valid, np.abs(pr - gt), 0.0)
                photo = (np.clip(_display(sample["image"]), 0, 1) * 255).astype(np.uint8)
                error_rgb = colorize_depth(error, valid, "magma", reverse=False)
                self.pictures.append([photo, colorize_depth(gt, valid), colorize_depth(pr, valid), error_rgb])

    def summary(self) -> dict[str, float]:
        return {m: float(np.nanmean([r[m] for r in self.rows])) for m in DEPTH_METRICS}

    def write(self, engine: Engine) -> None:
        if not self.rows:
            logger.warning("no image was evaluated; no report written")
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        mean = self.summary()
        (self.output_dir / "metrics.json").write_text(
            json.dumps(
                {
                    "name": self.name,
                    "n_images": len(self.rows),
                    "eps": self.eps,
                    "metrics": mean,
                    "per_image": self.rows,
                },
                indent=1,
            )
        )
        table = metrics_markdown({self.name: mean})
        (self.output_dir / "metrics.md").write_text(table + "\n")
        if self.pictures:
            captions = [
                f"{Path(r['image']).name}: photo | ground truth | prediction | |error|"
                for r in self.rows[: len(self.pictures)]
            ]
            panel_grid(self.pictures, captions).save(self.output_dir / "samples.png")
        logger.info("depth metrics on %d images:\n%s", len(self.rows), table)
