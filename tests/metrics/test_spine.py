"""The morphology metrics as MONAI cumulative metrics: fed batch by batch, reduced over the evaluation, each image's
row kept; no curve found counts as wrong for the classes and is left out of the angles."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from monai_gamanet.data.geometry import curve_to_band
from monai_gamanet.data.synthetic import generate_sample
from monai_gamanet.metrics.spine import MorphologyMetric, curve_truth, morphology_figures, morphology_rows


def _row(true: float, measured: float | None, severity: int = 0, kind: int = 1) -> list[float]:
    pred = [math.nan] * 3 if measured is None else [measured, severity, kind]
    return pred + [true, 0, 1]  # truth: normal-mild, C


def test_figures_from_rows() -> None:
    rows = torch.tensor([_row(10, 12), _row(15, 14), _row(18, 21, severity=1), _row(12, None)])
    m = morphology_figures(rows)
    assert m["cobb_mae"] == pytest.approx((2 + 1 + 3) / 3) and m["no_curve_found"] == 1
    assert m["severity_accuracy"] == pytest.approx(2 / 4) and m["curve_type_accuracy"] == pytest.approx(3 / 4)
    assert m["cobb_r"] == pytest.approx(0.8988, abs=1e-3)  # Pearson r of (12, 14, 21) against (10, 15, 18)
    assert math.isnan(morphology_figures(torch.tensor([_row(10, 11)]))["cobb_r"])  # r of one photo
    no_truth = torch.tensor([[math.nan] * 6])
    assert morphology_figures(no_truth)["no_curve_found"] == 1.0 and math.isnan(
        morphology_figures(no_truth)["cobb_mae"]
    )
    (found, missed) = morphology_rows(rows[[0, 3]])
    assert found == {
        "major_cobb_deg": 12.0, "severity": "normal-mild", "curve_type": "C",
        "true_major_cobb_deg": 10.0, "true_severity": "normal-mild", "true_curve_type": "C",
    }  # fmt: skip
    assert missed["no_curve_found"] is True and "major_cobb_deg" not in missed


def test_cumulative_over_batches_measures_the_true_band_as_the_truth() -> None:
    """Two batches of phantom backs, each predicted by its own true band: the metric reduces them like MONAI's."""
    samples = [generate_sample(i, seed=3) for i in range(4)]
    size = (240, 480)
    probs, truths = [], []
    for s in samples:
        band = curve_to_band(np.asarray(s.curve["points"]), size, 5.0).astype(np.float32)
        probs.append(torch.from_numpy(np.stack([1 - band, band])))
        truths.append(torch.from_numpy(curve_truth(s.curve, size)))
    metric = MorphologyMetric("cobb_mae", decoding="mask")
    for k in (0, 2):
        metric(torch.stack(probs[k : k + 2]), torch.stack(truths[k : k + 2]))
    buffer = metric.get_buffer()
    assert buffer.shape == (4, 6)
    assert float(metric.aggregate()) < 1.5  # the ground truth's own band, measured by the same functions
    accuracy = MorphologyMetric("severity_accuracy", decoding="mask")
    accuracy(torch.stack(probs), torch.stack(truths))
    assert float(accuracy.aggregate()) >= 0.75
    metric.reset()
    assert math.isnan(float(metric.aggregate()))
    with pytest.raises(ValueError, match="unknown morphology metric"):
        MorphologyMetric("cobb_rmse")
    with pytest.raises(ValueError, match=r"\(B, 5\)"):
        MorphologyMetric()(torch.stack(probs[:1]), torch.zeros(1, 3))


def test_truth_in_network_pixels_and_none_without_a_curve_file() -> None:
    doc = {"image_size": {"width": 240, "height": 480}, "pixel_spacing_mm": 1.5, "major_cobb_deg": 25.0,
           "severity": "moderate", "curve_type": "S"}  # fmt: skip
    assert curve_truth(doc, (120, 240)).tolist() == pytest.approx([25.0, 1.0, 2.0, 3.0, 3.0])
    assert np.isnan(curve_truth(None, (120, 240))).all()
