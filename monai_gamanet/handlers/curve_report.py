"""The evaluation report of the spine-curve bundle: Table 4's mask metrics and the morphology a specialist reads.

Every figure is a MONAI metric handler with ``save_details`` (:func:`curve_metric_handlers`): Table 4's five from
MONAI's own (``MeanIoUHandler``, ``MeanDice``, ``ConfusionMatrix``), the morphology (Cobb MAE and r, severity and
curve-type accuracy, "no curve found") from :class:`~monai_gamanet.metrics.spine.MorphologyMetric`, fed by the
batch (the curve probability and the truth that :class:`~monai_gamanet.transforms.CurveTruthd` loads), and the
threshold-free line agreement (:class:`~monai_gamanet.metrics.agreement.LineAgreementMetric`).
:class:`CurveEvaluationReport` only writes files: the figures, per-image rows named by photo (for paired
comparisons between inputs), the tables and overlays.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import numpy as np
import torch
from ignite.engine import Engine

from monai_gamanet.handlers.report import EvaluationReport
from monai_gamanet.metrics.centre_line import NoCurveFound
from monai_gamanet.metrics.curve import CURVE_METRICS
from monai_gamanet.metrics.decoding import CURVE_DECODINGS, measure_curve_probability
from monai_gamanet.metrics.spine import MORPHOLOGY_METRICS, morphology_rows

__all__ = [
    "CURVE_HEADERS",
    "LINE_AGREEMENT",
    "MORPHOLOGY_METRICS",
    "REPORT_METRICS",
    "CurveEvaluationReport",
    "curve_metric_handlers",
    "curve_report_name",
]

logger = logging.getLogger(__name__)

LINE_AGREEMENT = "line_agreement"
REPORT_METRICS = (*CURVE_METRICS, *MORPHOLOGY_METRICS, LINE_AGREEMENT)  # every figure of the evaluation report

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
    LINE_AGREEMENT: "Line agreement",
}


def curve_metric_handlers(
    names: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    decoding: str = "probability",
    save_details: bool = True,
) -> dict:
    """The curve figures as MONAI metric handlers, for an evaluator's key or additional metrics.

    Table 4's five score the one-hot (B, 2, W, H) ``pred`` against ``label`` (the curve channel); the morphology
    five read ``prob`` (the curve probability) and ``truth`` (:func:`~monai_gamanet.metrics.spine.curve_truth` rows)
    from the engine's output, the centre line read by ``decoding``; ``line_agreement`` (threshold-free, the
    training's validation figure: :mod:`monai_gamanet.metrics.agreement`) reads ``prob`` and ``label``.

    Args:
        names: the figures (default all eleven of the report, :data:`REPORT_METRICS`).
        exclude: names left out (e.g. the key metric, given separately).
        decoding: how the morphology reads the centre line (the bundle's ``curve_decoding``).
        save_details: keep every image's value in ``engine.state.metric_details`` (the report's rows).
    """
    from monai.handlers import ConfusionMatrix, IgniteMetricHandler, MeanDice, MeanIoUHandler, from_engine

    from monai_gamanet.metrics.agreement import LineAgreementMetric
    from monai_gamanet.metrics.spine import MorphologyMetric

    every = list(REPORT_METRICS)
    unknown = [n for n in [*(names or []), *exclude] if n not in every]
    if unknown:
        raise ValueError(f"unknown curve metric(s) {unknown}; choose from {every}.")
    out, morphology = from_engine(["pred", "label"]), from_engine(["prob", "truth"])
    handlers = {}
    for name in [n for n in (names or every) if n not in exclude]:
        if name == LINE_AGREEMENT:
            metric = LineAgreementMetric(decoding)
            handlers[name] = IgniteMetricHandler(
                metric, output_transform=from_engine(["prob", "label"]), save_details=save_details
            )
        elif name == "iou":
            handlers[name] = MeanIoUHandler(include_background=False, output_transform=out, save_details=save_details)
        elif name == "dice":
            handlers[name] = MeanDice(include_background=False, output_transform=out, save_details=save_details)
        elif name in CURVE_METRICS:
            handlers[name] = ConfusionMatrix(
                include_background=False, metric_name=name, output_transform=out, save_details=save_details
            )
        else:
            metric = MorphologyMetric(name, decoding)
            handlers[name] = IgniteMetricHandler(metric, output_transform=morphology, save_details=save_details)
    return handlers


def curve_report_name(inputs: str, depth_source: str = "estimated") -> str:
    """The report's row name: ``RGB``, or the inputs and where the depth came from (``RGBD, estimated depth``)."""
    return inputs.upper() if inputs == "rgb" else f"{inputs.upper()}, {depth_source} depth"


class CurveEvaluationReport(EvaluationReport):
    """Write ``metrics.json``, ``metrics.md`` and ``samples.png`` to ``output_dir`` when an evaluation completes,
    from the evaluator's metric handlers (:func:`curve_metric_handlers`, ``save_details``).

    Args:
        output_dir: report folder.
        name: row name of the table (e.g. the inputs, "RGBD").
        n_pictures: photos drawn in ``samples.png`` (prediction measured, beside the ground truth).
        decoding: how the pictures' centre line is read (as the morphology metrics read it).
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

        for sample in engine.state.output:
            image = sample["image"]
            row = {"image": str(getattr(image, "meta", {}).get("filename_or_obj", f"image {len(self.rows)}"))}
            if hasattr(sample.get("label"), "meta"):  # the photo's label: the same name whatever the inputs
                row["label"] = str(sample["label"].meta.get("filename_or_obj", ""))
            self.rows.append(row)
            if len(self.pictures) < self.n_pictures:  # drawn as the morphology metrics measure it
                mask = sample["pred"][1].detach().cpu().numpy()  # (W, H) curve channel of the one-hot prediction
                prob = sample["prob"][1].detach().float().cpu().numpy() if "prob" in sample else mask
                truth = sample.get("truth")
                spacing = tuple(float(s) for s in truth[3:]) if truth is not None else (1.0, 1.0)
                spacing = spacing if all(np.isfinite(spacing)) else 1.0
                try:
                    report = measure_curve_probability(prob, spacing, self.decoding).to_dict()
                except NoCurveFound:
                    report = {"curve_found": False}
                a = image.detach().float().cpu().numpy()
                photo = a[:3].transpose(2, 1, 0) if a.shape[0] >= 3 else np.repeat(a[:1].transpose(2, 1, 0), 3, -1)
                photo = (np.clip(photo, 0, 1) * 255).astype(np.uint8)
                label = sample["label"][1].detach().cpu().numpy().T
                self.pictures.append([overlay_morphology(photo, report, mask.T), overlay_curve(photo, label)])

    def write(self, engine: Engine) -> None:
        from monai_gamanet.io.pictures import panel_grid

        if not self.rows:
            logger.warning("no image was evaluated; no report written")
            return
        metrics = {n: float(engine.state.metrics[n]) for n in REPORT_METRICS if n in engine.state.metrics}
        details = engine.state.metric_details
        for n in [n for n in [*CURVE_METRICS, LINE_AGREEMENT] if n in details]:
            values = torch.as_tensor(details[n]).reshape(-1).float().cpu().tolist()
            if len(values) == len(self.rows):
                for row, v in zip(self.rows, values, strict=True):
                    if v == v:  # NaN (line agreement of a label without a band): nothing to score, left out
                        row[n] = v
        morphology = next((details[n] for n in MORPHOLOGY_METRICS if n in details), None)
        if morphology is not None and len(morphology) == len(self.rows):
            for row, measured in zip(self.rows, morphology_rows(morphology), strict=True):
                row |= measured
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


def curve_markdown(rows: dict[str, dict[str, float]]) -> str:
    """Table 4's format plus the morphology columns, one row per input."""
    columns = [c for c in CURVE_HEADERS if any(c in r for r in rows.values())]
    head = "| Input | " + " | ".join(CURVE_HEADERS[c] for c in columns) + " |\n" + "|---" * (len(columns) + 1) + "|\n"
    cell = lambda r, c: "-" if c not in r or r[c] != r[c] else f"{r[c]:.0f}" if c == "no_curve_found" else f"{r[c]:.3f}"  # noqa: E731
    return head + "\n".join(f"| {n} | " + " | ".join(cell(r, c) for c in columns) + " |" for n, r in rows.items())
