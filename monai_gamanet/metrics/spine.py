"""What a specialist reads off a predicted curve, scored against the truth as MONAI metrics: Cobb MAE and Pearson
r of the major Cobb angle, severity and curve-type accuracy, and the photos with no curve found.

Each is a MONAI ``CumulativeIterationMetric`` fed by the batch: ``y_pred`` the curve probability (B, 2, W, H) or
(B, 1, W, H) (the curve channel is the last), ``y`` the truth (B, 5) that :func:`curve_truth` gives for each photo
(the transform :class:`~monai_gamanet.transforms.CurveTruthd` loads it). Every image is measured the same way as a
report (:func:`~monai_gamanet.metrics.decoding.measure_curve_probability`) and buffered as one row
(:data:`ROW`), so MONAI's engines reduce them over the whole evaluation (and across ranks) and handlers read each
image's row (``save_details``).

Conventions (as the curve bundle's docs): a photo without truth is left out of every figure but
``no_curve_found``; a photo with no curve found counts as wrong for severity and curve type, and is left out of the
angle figures (counted by ``no_curve_found``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from monai.metrics import CumulativeIterationMetric

from monai_gamanet.metrics.centre_line import NoCurveFound
from monai_gamanet.metrics.decoding import CURVE_DECODINGS, measure_curve_probability
from monai_gamanet.metrics.morphology import SEVERITY_CLASSES

__all__ = [
    "CURVE_TYPES",
    "MORPHOLOGY_METRICS",
    "ROW",
    "MorphologyMetric",
    "curve_truth",
    "morphology_figures",
    "morphology_rows",
]

MORPHOLOGY_METRICS: tuple[str, ...] = (
    "cobb_mae",
    "cobb_r",
    "severity_accuracy",
    "curve_type_accuracy",
    "no_curve_found",
)
CURVE_TYPES: tuple[str, ...] = ("none", "C", "S")
SEVERITIES: tuple[str, ...] = tuple(name for name, _ in SEVERITY_CLASSES)
# one buffered row per image: prediction (NaN: no curve found) and truth (NaN: none known)
ROW: tuple[str, ...] = (
    "major_cobb_deg",
    "severity",
    "curve_type",
    "true_major_cobb_deg",
    "true_severity",
    "true_curve_type",
)


def _index(names: tuple[str, ...], value: object) -> float:
    return float(names.index(value)) if value in names else math.nan


def curve_truth(doc: Mapping | None, spatial_size: tuple[int, int]) -> np.ndarray:
    """A photo's truth as the metrics take it: (major Cobb deg, severity index, curve-type index, mm per pixel in x
    and in y at ``spatial_size``, the (W, H) the curve is measured at); all NaN when ``doc`` (the curve JSON of the
    data contract) is None."""
    if doc is None:
        return np.full(5, np.nan, np.float32)
    w, h = doc["image_size"]["width"], doc["image_size"]["height"]
    s = float(doc["pixel_spacing_mm"])
    return np.array(
        [
            doc["major_cobb_deg"],
            _index(SEVERITIES, doc.get("severity")),
            _index(CURVE_TYPES, doc.get("curve_type")),
            s * w / spatial_size[0],
            s * h / spatial_size[1],
        ],
        np.float32,
    )


def morphology_rows(buffer: torch.Tensor | np.ndarray) -> list[dict]:
    """The buffered rows (N, 6) as plain per-image records (names for the classes; absent when unknown): what the
    evaluation report writes for each photo."""
    rows = []
    for values in np.asarray(torch.as_tensor(buffer).float().cpu()).reshape(-1, len(ROW)):
        pred_cobb, pred_sev, pred_type, true_cobb, true_sev, true_type = (float(v) for v in values)
        row: dict = {}
        if math.isnan(pred_cobb):
            row["no_curve_found"] = True
        else:
            row |= {"major_cobb_deg": pred_cobb, "severity": SEVERITIES[int(pred_sev)]}
            row["curve_type"] = CURVE_TYPES[int(pred_type)]
        if not math.isnan(true_cobb):
            row["true_major_cobb_deg"] = true_cobb
            if not math.isnan(true_sev):
                row["true_severity"] = SEVERITIES[int(true_sev)]
            if not math.isnan(true_type):
                row["true_curve_type"] = CURVE_TYPES[int(true_type)]
        rows.append(row)
    return rows


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def morphology_figures(buffer: torch.Tensor | np.ndarray) -> dict[str, float]:
    """The five figures of :data:`MORPHOLOGY_METRICS` from the buffered rows (N, 6)."""
    rows = np.asarray(torch.as_tensor(buffer).float().cpu()).reshape(-1, len(ROW))
    found = ~np.isnan(rows[:, 0])
    scored = ~np.isnan(rows[:, 3])
    both = found & scored
    if not scored.any():
        return {"no_curve_found": float((~found).sum())} | {m: math.nan for m in MORPHOLOGY_METRICS[:4]}
    errors = np.abs(rows[both, 0] - rows[both, 3])
    return {
        "cobb_mae": float(errors.mean()) if both.any() else math.nan,
        "cobb_r": _pearson(rows[both, 0], rows[both, 3]),
        "severity_accuracy": float(np.mean((rows[scored, 1] == rows[scored, 4]) & found[scored])),
        "curve_type_accuracy": float(np.mean((rows[scored, 2] == rows[scored, 5]) & found[scored])),
        "no_curve_found": float((scored & ~found).sum()),
    }


class MorphologyMetric(CumulativeIterationMetric):
    """One of :data:`MORPHOLOGY_METRICS` over every image seen since the last ``reset``.

    Args:
        metric_name: the figure ``aggregate`` returns.
        decoding: how the centre line is read from the curve probability (:data:`CURVE_DECODINGS`).
    """

    def __init__(self, metric_name: str = "cobb_mae", decoding: str = "probability") -> None:
        super().__init__()
        if metric_name not in MORPHOLOGY_METRICS:
            raise ValueError(f"unknown morphology metric '{metric_name}'; choose from {', '.join(MORPHOLOGY_METRICS)}.")
        if decoding not in CURVE_DECODINGS:
            raise ValueError(f"unknown curve decoding '{decoding}'; choose from {', '.join(CURVE_DECODINGS)}.")
        self.metric_name, self.decoding = metric_name, decoding

    def _compute_tensor(self, y_pred: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None or y.ndim != 2 or y.shape[-1] != 5:
            raise ValueError("the morphology metrics need the truth y as (B, 5) rows of curve_truth().")
        probability = y_pred.detach().float().cpu().numpy()
        truth = y.detach().float().cpu().numpy()
        rows = []
        for prob, true in zip(probability, truth, strict=True):
            curve = prob[-1] if prob.ndim == 3 else prob  # the curve channel (W, H)
            spacing = (float(true[3]), float(true[4])) if np.isfinite(true[3:]).all() else 1.0
            try:
                m = measure_curve_probability(curve, spacing, self.decoding)
                pred = [m.major_cobb_deg, _index(SEVERITIES, m.severity), _index(CURVE_TYPES, m.curve_type)]
            except NoCurveFound:
                pred = [math.nan] * 3
            rows.append(pred + [float(v) for v in true[:3]])
        return torch.tensor(rows, dtype=torch.float32, device=y_pred.device)

    def aggregate(self) -> torch.Tensor:
        buffer = self.get_buffer()
        if buffer is None or len(buffer) == 0:
            return torch.tensor(math.nan)
        return torch.tensor(morphology_figures(buffer)[self.metric_name])
