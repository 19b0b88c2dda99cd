"""Ignite handlers the bundles need beyond MONAI's: a resumable last checkpoint and the evaluation report."""

from monai_gamanet.handlers.checkpoint import ResumableCheckpoint
from monai_gamanet.handlers.report import DepthEvaluationReport, depth_metric_handlers, metrics_markdown

__all__ = ["DepthEvaluationReport", "ResumableCheckpoint", "depth_metric_handlers", "metrics_markdown"]
