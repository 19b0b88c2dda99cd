"""The curve report's morphology figures: Cobb MAE / r over found curves, classes counting 'no curve' as wrong."""

from __future__ import annotations

import math

import pytest

from monai_gamanet.handlers.curve_report import CurveEvaluationReport, curve_markdown


def _row(true: float, measured: float | None, severity: str = "normal-mild", kind: str = "C") -> dict:
    row = {"true_major_cobb_deg": true, "true_severity": "normal-mild", "true_curve_type": "C"}
    if measured is None:
        return row | {"no_curve_found": "no curve found: the mask is empty."}
    return row | {"major_cobb_deg": measured, "severity": severity, "curve_type": kind}


def test_morphology_metrics() -> None:
    rows = [_row(10, 12), _row(15, 14), _row(18, 21, "moderate"), _row(12, None)]
    m = CurveEvaluationReport.morphology_metrics(rows)
    assert m["cobb_mae"] == pytest.approx((2 + 1 + 3) / 3) and m["no_curve_found"] == 1
    assert m["severity_accuracy"] == pytest.approx(2 / 4) and m["curve_type_accuracy"] == pytest.approx(3 / 4)
    assert m["cobb_r"] == pytest.approx(0.8988, abs=1e-3)  # Pearson r of (12, 14, 21) against (10, 15, 18)
    assert math.isnan(CurveEvaluationReport.morphology_metrics([_row(10, 11)])["cobb_r"])  # r of one photo
    assert CurveEvaluationReport.morphology_metrics([{"no_curve_found": "x"}]) == {"no_curve_found": 1.0}


def test_table_format() -> None:
    text = curve_markdown({"RGBD": {"iou": 0.8, "dice": 0.89, "cobb_mae": float("nan"), "no_curve_found": 2.0}})
    assert text.splitlines()[0] == "| Input | IoU | Dice | Cobb MAE (deg) | No curve found |"
    assert text.splitlines()[2] == "| RGBD | 0.800 | 0.890 | - | 2 |"
