"""The centre line read from a curve probability without a 0.5 threshold, on phantom bands whose Cobb angle is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from monai_gamanet.data.synthetic import generate_sample
from monai_gamanet.metrics.centre_line import NoCurveFound
from monai_gamanet.metrics.decoding import decode_centre_line, measure_curve_probability, probability_centre_line


def _uncertain_probability(index: int, peak: float = 0.45, seed: int = 3) -> tuple[np.ndarray, dict]:
    """A calibrated-looking but timid network's answer: the true band blurred, peaking at ``peak`` (< 0.5), over a
    faint noisy background; (W, H) in MONAI's axis order, and the curve's ground truth."""
    sample = generate_sample(index, seed=seed)
    band = ndimage.gaussian_filter(sample.label.astype(np.float64), 2.0)
    rng = np.random.default_rng(index)
    prob = peak * band / band.max() + rng.uniform(0.0, 0.03, band.shape)
    return prob.T, sample.curve


@pytest.mark.parametrize("index", [0, 1, 2, 3, 4])
def test_a_band_under_one_half_still_gives_its_cobb_angle(index: int) -> None:
    prob, truth = _uncertain_probability(index)
    with pytest.raises(NoCurveFound):
        decode_centre_line(prob, "mask")  # the 0.5 mask is empty: the old read-out found no curve
    morphology = measure_curve_probability(prob, truth["pixel_spacing_mm"])
    assert morphology.major_cobb_deg == pytest.approx(truth["major_cobb_deg"], abs=2.0)
    assert morphology.severity == truth["severity"] and morphology.curve_type == truth["curve_type"]


def test_both_decodings_agree_on_a_confident_band() -> None:
    prob, truth = _uncertain_probability(1, peak=0.95)
    by_mask = measure_curve_probability(prob, truth["pixel_spacing_mm"], decoding="mask").major_cobb_deg
    by_probability = measure_curve_probability(prob, truth["pixel_spacing_mm"]).major_cobb_deg
    assert by_probability == pytest.approx(by_mask, abs=1.0)


def test_the_line_spans_the_spine_and_ignores_a_blob_beside_it() -> None:
    prob, _ = _uncertain_probability(2)
    clean = probability_centre_line(prob)
    rows = np.nonzero(prob.max(axis=0) > 0.2)[0]
    assert abs(clean[0, 1] - rows[0]) <= 3 and abs(clean[-1, 1] - rows[-1]) <= 3  # C7 to L5
    blob = prob.copy()
    blob[10:25, 200:230] = 0.45  # something bright at the patient's side, level with the lumbar spine
    line = probability_centre_line(blob)
    both = np.intersect1d(clean[:, 1], line[:, 1])
    assert np.abs(np.interp(both, line[:, 1], line[:, 0]) - np.interp(both, clean[:, 1], clean[:, 0])).max() < 1.0


def test_no_curve_only_where_the_network_sees_none() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(NoCurveFound, match="stays under"):
        probability_centre_line(rng.uniform(0.0, 0.02, (240, 480)))  # no back: nothing anywhere
    spot = np.zeros((240, 480))
    spot[100:110, 200:230] = 0.8
    with pytest.raises(NoCurveFound, match="span"):
        probability_centre_line(spot)  # a blob, not a spine
    with pytest.raises(ValueError, match="unknown curve decoding"):
        decode_centre_line(spot, "argmax")
    with pytest.raises(ValueError, match="must be 2D"):
        probability_centre_line(np.zeros((2, 3, 4, 5)))
