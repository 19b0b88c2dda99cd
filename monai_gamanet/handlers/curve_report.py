"""The evaluation report of the spine-curve bundle: Table 4's mask metrics and the morphology a specialist reads.

Table 4's five numbers come from MONAI's handlers (``MeanIoUHandler``, ``MeanDice``, ``ConfusionMatrix``) with
``save_details``; :class:`CurveEvaluationReport` adds what MONAI has no handler for: every predicted mask measured
by :func:`~monai_gamanet.metrics.decoding.measure_curve_probability` (the centre line read from the curve
probability, or from the 0.5 mask, by the bundle's ``curve_decoding``) against the phantom's ground truth (its curve
JSON, measured by the same functions from the true band): Cobb angle error and correlation, severity and curve-type
agreement, "no curve found" counts; per-image rows named by photo (for paired comparisons between inputs); the
tables; overlays.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import torch
from ignite.engine import Engine

from monai_gamanet.handlers.report import EvaluationReport
from monai_gamanet.metrics.centre_line import NoCurveFound
from monai_gamanet.metrics.curve import CURVE_METRICS
from monai_gamanet.metrics.decoding import CURVE_DECODINGS, measure_curve_probability

__all__ = ["CURVE_HEADERS", "MORPHOLOGY_METRICS", "CurveEvaluationReport", "curve_metric_handlers"]

logger = logging.getLogger(__name__)

CURVE_HEADERS = {
    "iou": "IoU",
    "accuracy": "Accuracy",
    "dice": "Dice",
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "cobb_mae": "Cobb MAE (deg)",
    "cobb_r": "Cobb r",
    "severity_accuracy": "Severity acc.",
    "curve_type_accuracy": "Curve type acc.",
    "no_curve_found": "No curve found",
}
MORPHOLOGY_METRICS = ("cobb_mae", "cobb_r", "severity_accuracy", "curve_type_accuracy", "no_curve_found")


def curve_metric_handlers(save_details: bool = True) -> dict:
    """Table 4's metrics as MONAI handlers on one-hot (B, 2, W, H) ``pred`` / ``label``, the curve channel scored."""
    from monai.handlers import ConfusionMatrix, MeanDice, MeanIoUHandler, from_engine

    out = from_engine(["pred", "label"])
    handlers = {
        "iou": MeanIoUHandler(include_background=False, output_transform=out, save_details=save_details),
        "dice": MeanDice(include_background=False, output_transform=out, save_details=save_details),
    }
    for name in ("accuracy", "sensitivity", "specificity"):
        handlers[name] = ConfusionMatrix(
            include_background=False, metric_name=name, output_transform=out, save_details=save_details
        )
    return {name: handlers[name] for name in CURVE_METRICS}


def _pearson(a: list[float], b: list[float]) -> float:
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


class CurveEvaluationReport(EvaluationReport):
    """Write ``metrics.json``, ``metrics.md`` and ``samples.png`` to ``output_dir`` when an evaluation completes.

    Args:
        output_dir: report folder.
        name: row name of the table (e.g. the inputs, "RGBD").
        n_pictures: photos drawn in ``samples.png`` (prediction measured, beside the ground truth).
        decoding: how the centre line is read: ``"probability"`` (from the curve probability, the evaluator's
            ``prob`` output, without a threshold) or ``"mask"`` (the 0.5 mask); see
            :mod:`monai_gamanet.metrics.decoding`.
    """

    def __init__(self, output_dir: str, name: str = "RGBD", n_pictures: int = 4, decoding: str = "probability") -> None:
        super().__init__(output_dir, name, n_pictures)
        if decoding not in CURVE_DECODINGS:
            raise ValueError(f"unknown curve decoding '{decoding}'; choose from {', '.join(CURVE_DECODINGS)}.")
        self.decoding = decoding

    def reset(self, engine: Engine | None = None) -> None:
        super().reset(engine)
        self.rows: list[dict] = []

    def collect(self, engine: Engine) -> None:
        from monai_gamanet.io.pictures import overlay_curve, overlay_morphology

        batch = engine.state.batch if isinstance(engine.state.batch, list) else [{}] * len(engine.state.output)
        for item, sample in zip(batch, engine.state.output, strict=True):  # the batch keeps the curve JSON's path
            image = sample["image"]
            source = str(getattr(image, "meta", {}).get("filename_or_obj", f"image {len(self.rows)}"))
            row: dict = {"image": source}
            if hasattr(sample.get("label"), "meta"):  # the photo's label: the same name whatever the inputs
                row["label"] = str(sample["label"].meta.get("filename_or_obj", ""))
            mask = sample["pred"][1].detach().cpu().numpy()  # (W, H) curve channel of the one-hot prediction
            prob = sample["prob"][1].detach().float().cpu().numpy() if "prob" in sample else mask
            curve = item.get("curve")
            doc = json.loads(Path(curve).read_text()) if isinstance(curve, str) and Path(curve).is_file() else None
            spacing = 1.0
            if doc is not None:
                w0, h0 = doc["image_size"]["width"], doc["image_size"]["height"]
                s = doc["pixel_spacing_mm"]
                spacing = (s * w0 / mask.shape[0], s * h0 / mask.shape[1])  # millimetres per pixel at network size
                row |= {"true_" + k: doc[k] for k in ("major_cobb_deg", "severity", "curve_type")}
            try:
                report = measure_curve_probability(prob, spacing, self.decoding).to_dict()
                row |= {k: report[k] for k in ("major_cobb_deg", "severity", "curve_type", "description")}
            except NoCurveFound as err:
                report = {"curve_found": False}
                row |= {"no_curve_found": str(err)}
            self.rows.append(row)
            if len(self.pictures) < self.n_pictures:
                a = image.detach().float().cpu().numpy()
                photo = a[:3].transpose(2, 1, 0) if a.shape[0] >= 3 else np.repeat(a[:1].transpose(2, 1, 0), 3, -1)
                photo = (np.clip(photo, 0, 1) * 255).astype(np.uint8)
                truth = sample["label"][1].detach().cpu().numpy().T
                self.pictures.append([overlay_morphology(photo, report, mask.T), overlay_curve(photo, truth)])

    def write(self, engine: Engine) -> None:
        from monai_gamanet.io.pictures import panel_grid

        if not self.rows:
            logger.warning("no image was evaluated; no report written")
            return
        metrics = {n: float(engine.state.metrics[n]) for n in CURVE_METRICS if n in engine.state.metrics}
        details = engine.state.metric_details
        for n in metrics:
            values = torch.as_tensor(details[n]).reshape(-1).float().cpu().tolist() if n in details else []
            if len(values) == len(self.rows):
                for row, v in zip(self.rows, values, strict=True):
                    row[n] = v
        metrics |= self.morphology_metrics(self.rows)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        finite = {k: (v if v == v else None) for k, v in metrics.items()}  # NaN (e.g. r of one photo) -> null
        (self.output_dir / "metrics.json").write_text(
            json.dumps({"name": self.name, "metrics": finite, "per_image": self.rows}, indent=1, allow_nan=False)
        )
        table = curve_markdown({self.name: metrics})
        (self.output_dir / "metrics.md").write_text(table + "\n")
        if self.pictures:
            captions = ["prediction, measured | ground truth"] * len(self.pictures)
            panel_grid(self.pictures, captions).save(self.output_dir / "samples.png")
        logger.info("curve evaluation on %d test photos:\n%s", len(self.rows), table)

    @staticmethod
    def morphology_metrics(rows: list[dict]) -> dict[str, float]:
        """Cobb MAE and r, severity and curve-type accuracy over the photos with a ground truth; a photo with no
        curve found counts as wrong for the classes and is left out of the angle figures (and counted)."""
        scored = [r for r in rows if "true_major_cobb_deg" in r]
        found = [r for r in scored if "major_cobb_deg" in r]
        if not scored:
            return {"no_curve_found": float(sum("no_curve_found" in r for r in rows))}
        errors = [abs(r["major_cobb_deg"] - r["true_major_cobb_deg"]) for r in found]
        return {
            "cobb_mae": float(np.mean(errors)) if errors else math.nan,
            "cobb_r": _pearson([r["major_cobb_deg"] for r in found], [r["true_major_cobb_deg"] for r in found]),
            "severity_accuracy": float(np.mean([r.get("severity") == r["true_severity"] for r in scored])),
            "curve_type_accuracy": float(np.mean([r.get("curve_type") == r["true_curve_type"] for r in scored])),
            "no_curve_found": float(len(scored) - len(found)),
        }


def curve_markdown(rows: dict[str, dict[str, float]]) -> str:
    """Table 4's format plus the morphology columns, one row per input."""
    columns = [c for c in CURVE_HEADERS if any(c in r for r in rows.values())]
    head = "| Input | " + " | ".join(CURVE_HEADERS[c] for c in columns) + " |\n" + "|---" * (len(columns) + 1) + "|\n"
    cell = lambda r, c: "-" if c not in r or r[c] != r[c] else f"{r[c]:.0f}" if c == "no_curve_found" else f"{r[c]:.3f}"  # noqa: E731
    return head + "\n".join(f"| {n} | " + " | ".join(cell(r, c) for c in columns) + " |" for n, r in rows.items())
