"""Line agreement: the threshold-free validation figure, on phantom labels whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from monai_gamanet.data.synthetic import generate_sample
from monai_gamanet.metrics.agreement import LineAgreementMetric, line_agreement


@pytest.fixture(scope="module")
def band() -> np.ndarray:
    return generate_sample(3, seed=2, height=128, width=64).label.T.astype(np.float32)  # (W, H)


def test_an_uncertain_band_on_the_line_agrees_where_the_mask_sees_nothing(band: np.ndarray) -> None:
    soft = ndimage.gaussian_filter(band, 1.0) * 0.42 / ndimage.gaussian_filter(band, 1.0).max()  # under 0.5
    assert line_agreement(soft, band) > 0.95
    assert line_agreement(soft, band, decoding="mask") == 0.0  # the 0.5 mask is empty: no curve found
    assert line_agreement(np.stack([1 - soft, soft]), np.stack([1 - band, band])) > 0.95  # two channels


def test_a_line_beside_the_spine_or_short_of_it_agrees_less(band: np.ndarray) -> None:
    width = band.sum(axis=0)[band.sum(axis=0) > 0].mean()
    beside = np.roll(band, int(3 * width) + 1, axis=0) * 0.8  # three band widths to the side
    assert line_agreement(beside, band) < 0.05
    rows = np.nonzero(band.sum(axis=0))[0]
    half = band.copy()
    half[:, rows[0] + len(rows) // 2 :] = 0  # stops halfway down: about half the line to redraw
    assert 0.4 < line_agreement(half * 0.8, band) < 0.6
    assert line_agreement(np.zeros_like(band), band) == 0.0  # no curve found
    assert math.isnan(line_agreement(band, np.zeros_like(band)))  # no band drawn: nothing to score
    with pytest.raises(ValueError, match="one \\(W, H\\) size"):
        line_agreement(band[:, :-1], band)


def test_the_metric_averages_the_photos_with_a_band(band: np.ndarray) -> None:
    metric = LineAgreementMetric()
    prob = torch.from_numpy(np.stack([band * 0.45, np.zeros_like(band), band * 0.9]))[:, None]
    label = torch.from_numpy(np.stack([band, band, np.zeros_like(band)]))[:, None]
    metric(prob, label)
    assert metric.aggregate().item() == pytest.approx(0.5, abs=0.03)  # 1 and 0; the third has no band
    metric.reset()
    assert math.isnan(metric.aggregate().item())
    with pytest.raises(ValueError, match="unknown curve decoding"):
        LineAgreementMetric("threshold")
