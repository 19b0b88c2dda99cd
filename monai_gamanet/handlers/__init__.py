"""Ignite handlers the bundles need beyond MONAI's: a resumable last checkpoint and the evaluation reports."""

from monai_gamanet.handlers.checkpoint import ResumableCheckpoint
from monai_gamanet.handlers.curve_report import CurveEvaluationReport, curve_metric_handlers
from monai_gamanet.handlers.report import DepthEvaluationReport, depth_metric_handlers, metrics_markdown

__all__ = [
    "CurveEvaluationReport",
    "DepthEvaluationReport",
    "ResumableCheckpoint",
    "curve_metric_handlers",
    "depth_metric_handlers",
    "metrics_markdown",
]
