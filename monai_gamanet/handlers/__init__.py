"""Ignite handlers the bundles need beyond MONAI's: a resumable last checkpoint and the evaluation report."""

from monai_gamanet.handlers.checkpoint import ResumableCheckpoint
from monai_gamanet.handlers.report import DepthEvaluationReport, metrics_markdown

__all__ = ["DepthEvaluationReport", "ResumableCheckpoint", "metrics_markdown"]
