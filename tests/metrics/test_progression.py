"""Two visits compared: curves followed by side and apex, the change's interval from the repeatability, the verdict;
on phantom pairs of one back with a known added curvature."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monai_gamanet.metrics.morphology import measure_spine
from monai_gamanet.metrics.progression import (
    LIKELY,
    NOT_SHOWN,
    compare_reports,
    map_onto,
    match_curves,
    smallest_detectable_change,
)


def _report(sample) -> dict:
    """The pipeline's morphology report of a phantom capture's true curve."""
    return measure_spine(sample.curve["points"], sample.curve["pixel_spacing_mm"]).to_dict()


def test_smallest_detectable_change_is_the_95_percent_limit_of_a_difference() -> None:
    assert smallest_detectable_change(1.0) == pytest.approx(1.96 * math.sqrt(2))
    assert smallest_detectable_change(0.0) == 0.0
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="standard deviation"):
            smallest_detectable_change(bad)


def test_curves_are_followed_by_side_and_apex() -> None:
    thoracic = {"cobb_deg": 25.0, "convex": "right", "apex": "T8", "region": "thoracic"}
    lumbar = {"cobb_deg": 18.0, "convex": "left", "apex": "L2", "region": "lumbar"}
    moved = {**thoracic, "apex": "T10", "cobb_deg": 31.0}  # apex two levels lower: the same curve
    pairs = match_curves([thoracic, lumbar], [moved])
    assert pairs == [(thoracic, moved), (lumbar, None)]  # top first; the lumbar curve not seen later
    far = {**thoracic, "apex": "L3"}  # five levels away: another curve
    other_side = {**thoracic, "convex": "left"}
    assert match_curves([thoracic], [far]) == [(thoracic, None), (None, far)]
    pairs = match_curves([thoracic], [other_side])
    assert len(pairs) == 2 and (thoracic, None) in pairs and (None, other_side) in pairs  # one apex: either order


def test_the_earlier_line_placed_on_the_later_photo_keeps_its_angles(phantom_visits: dict) -> None:
    earlier, later = (np.asarray(phantom_visits[k].curve["points"]) for k in ("first", "progressed"))
    moved = map_onto(earlier, later)
    np.testing.assert_allclose(moved[[0, -1]], later[[0, -1]], atol=1e-9)  # C7 and L5 on the later ones
    # a similarity transform: Cobb angles unchanged (up to the one-point-per-row resampling of a tilted line)
    before, after = ([c["cobb_deg"] for c in measure_spine(line).curves] for line in (earlier, moved))
    np.testing.assert_allclose(after, before, atol=0.5)
    with pytest.raises(ValueError, match="same first and last"):
        map_onto([[1, 1], [2, 2], [1, 1]], later)


def test_a_known_progression_is_called_and_an_unchanged_back_is_not(phantom_visits: dict) -> None:
    first, unchanged, progressed = (_report(phantom_visits[k]) for k in ("first", "unchanged", "progressed"))
    grown = compare_reports(first, progressed, sdc_deg=4.0)
    major = next(r for r in grown["curves"] if r["earlier_cobb_deg"] == first["major_cobb_deg"])
    assert major["change_deg"] == pytest.approx(10.0, abs=3.0)  # the 10 deg added to the major curve, measured
    assert major["interval_deg"] == pytest.approx([major["change_deg"] - 4.0, major["change_deg"] + 4.0], abs=0.01)
    assert major["verdict"] == LIKELY and grown["verdict"] == LIKELY
    same = compare_reports(first, unchanged, sdc_deg=4.0)
    assert same["verdict"] == NOT_SHOWN and abs(same["major"]["change_deg"]) < 2.0
    # a measurement that cannot see 5 deg says so, and calls nothing on a change within its error
    noisy = compare_reports(first, progressed, sdc_deg=12.0)
    assert noisy["verdict"] == NOT_SHOWN and "cannot be shown" in noisy["note"]
    # without a measured repeatability: the change, but no interval and no verdict
    unknown = compare_reports(first, progressed)
    assert unknown["verdict"] is None and unknown["major"]["interval_deg"] is None
    assert unknown["major"]["change_deg"] == grown["major"]["change_deg"] and "repeatability" in unknown["note"]
    with pytest.raises(ValueError, match="smallest detectable change"):
        compare_reports(first, progressed, sdc_deg=float("nan"))


def test_a_visit_without_a_curve_decides_nothing(phantom_visits: dict) -> None:
    none = {"curve_found": False, "reason": "no curve found: the probability never rises above the background"}
    out = compare_reports(_report(phantom_visits["first"]), none, sdc_deg=3.0)
    assert out["verdict"] is None and out["curves"] == [] and "later photo (no curve found" in out["note"]
