"""The curve report's handlers and table: every figure a MONAI metric handler, the table in Table 4's format."""

from __future__ import annotations

import pytest

from monai_gamanet.handlers.curve_report import curve_markdown, curve_metric_handlers, curve_report_name
from monai_gamanet.metrics.curve import CURVE_METRICS
from monai_gamanet.metrics.spine import MORPHOLOGY_METRICS


def test_handlers_by_name() -> None:
    assert list(curve_metric_handlers()) == [*CURVE_METRICS, *MORPHOLOGY_METRICS, "line_agreement"]
    assert list(curve_metric_handlers(["dice"])) == ["dice"]
    rest = curve_metric_handlers(exclude=["dice"], decoding="mask")
    assert "dice" not in rest and rest["cobb_mae"].metric_fn.decoding == "mask"
    with pytest.raises(ValueError, match="unknown curve metric"):
        curve_metric_handlers(["cobb_rmse"])
    assert curve_report_name("rgb") == "RGB" and curve_report_name("rgbd", "ground_truth") == "RGBD, ground_truth depth"


def test_table_format() -> None:
    text = curve_markdown({"RGBD": {"iou": 0.8, "dice": 0.89, "cobb_mae": float("nan"), "no_curve_found": 2.0}})
    assert text.splitlines()[0] == "| Input | IoU | Dice | Cobb MAE (deg) | No curve found |"
    assert text.splitlines()[2] == "| RGBD | 0.800 | 0.890 | - | 2 |"
