"""Ignite handlers the bundles need beyond MONAI's: a resumable last checkpoint and the evaluation reports."""

from monai_gamanet.handlers.checkpoint import ResumableCheckpoint
from monai_gamanet.handlers.curve_report import CurveEvaluationReport, curve_metric_handlers, curve_report_name
from monai_gamanet.handlers.distributed import handlers_for_rank
from monai_gamanet.handlers.report import DepthEvaluationReport, depth_metric_handlers, metrics_markdown

__all__ = [
    "CurveEvaluationReport",
    "DepthEvaluationReport",
    "ResumableCheckpoint",
    "curve_metric_handlers",
    "curve_report_name",
    "depth_metric_handlers",
    "handlers_for_rank",
    "metrics_markdown",
]
