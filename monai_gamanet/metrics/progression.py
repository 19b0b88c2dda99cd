"""Two visits of one patient compared: the Cobb change of each curve, its interval and a progression verdict.

Scoliosis progression is called at an increase of 5 degrees (:data:`PROGRESSION_DEG`; radiographs: SRS). A change
measured between two photos is only evidence of progression when it is larger than what the same back photographed
twice gives: the *smallest detectable change* ``SDC = 1.96 x sqrt(2) x SD_within``, where ``SD_within`` is the
within-back standard deviation of the Cobb angle over repeated captures (measured by
``benchmarks/repeatability.py`` for a given pair of models; :func:`smallest_detectable_change`). The 95 % interval
of the true change is then ``change +- SDC``, and a curve's verdict is "progression >= 5 deg likely" when the change
is at least 5 degrees *and* its interval excludes no change (change > SDC), else "progression not shown". With
no measured repeatability the change is reported without interval and no verdict is given: a number without its
error would mislead.

Curves are matched between visits by their convex side and apex level (the nearest apex within
:data:`MAX_APEX_SHIFT` vertebrae), as a specialist follows "the right thoracic curve" from one radiograph to the
next. The earlier line is brought onto the later photo by the similarity transform that takes its C7 and L5 onto
the later line's (:func:`map_onto`): angles, hence Cobb angles, are unchanged by it, so the two curves can be
looked at over one photo.

MONAI and MONAI Label have no longitudinal comparison; this module is numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from monai_gamanet.metrics.levels import LEVELS

__all__ = [
    "LIKELY",
    "MAX_APEX_SHIFT",
    "NOT_SHOWN",
    "PROGRESSION_DEG",
    "compare_reports",
    "map_onto",
    "match_curves",
    "smallest_detectable_change",
]

PROGRESSION_DEG = 5.0  # the increase of a Cobb angle called progression (radiographs)
MAX_APEX_SHIFT = 3  # vertebrae: a curve whose apex moved further is another curve
LIKELY = "progression >= 5 deg likely"
NOT_SHOWN = "progression not shown"
Z95 = 1.96


def smallest_detectable_change(within_sd_deg: float) -> float:
    """``1.96 x sqrt(2) x SD_within``: the 95 % limit of the difference of two captures of an unchanged back."""
    sd = float(within_sd_deg)
    if not (math.isfinite(sd) and sd >= 0):
        raise ValueError(f"the within-back standard deviation must be a finite number >= 0; got {within_sd_deg}.")
    return Z95 * math.sqrt(2.0) * sd


def match_curves(earlier: Sequence[dict], later: Sequence[dict]) -> list[tuple[dict | None, dict | None]]:
    """Pairs (earlier curve, later curve) of one curve followed between visits: same convex side, nearest apex
    within :data:`MAX_APEX_SHIFT` levels, larger curves matched first; a curve seen at one visit only is paired with
    None. The pairs are ordered by apex level (top first)."""
    unmatched = list(earlier)
    pairs: list[tuple[dict | None, dict | None]] = []
    for curve in sorted(later, key=lambda c: -c["cobb_deg"]):
        apex = LEVELS.index(curve["apex"])
        same_side = [c for c in unmatched if c["convex"] == curve["convex"]]
        best = min(same_side, key=lambda c: abs(LEVELS.index(c["apex"]) - apex), default=None)
        if best is not None and abs(LEVELS.index(best["apex"]) - apex) <= MAX_APEX_SHIFT:
            unmatched.remove(best)
            pairs.append((best, curve))
        else:
            pairs.append((None, curve))
    pairs += [(c, None) for c in unmatched]
    return sorted(pairs, key=lambda p: LEVELS.index((p[1] or p[0])["apex"]))


def map_onto(points: np.ndarray | Sequence, target: np.ndarray | Sequence) -> np.ndarray:
    """``points`` (N, 2) moved by the similarity transform (rotation, uniform scale, shift) that takes their first
    and last point (C7, L5) onto ``target``'s first and last: a line of an earlier photo placed on a later one.
    Angles between any two directions, so Cobb angles, are kept."""
    p = np.asarray(points, dtype=np.float64)
    q = np.asarray(target, dtype=np.float64)
    if p.ndim != 2 or q.ndim != 2 or p.shape[1] != 2 or q.shape[1] != 2 or len(p) < 2 or len(q) < 2:
        raise ValueError(f"two lines of (x, y) points are needed; got shapes {p.shape} and {q.shape}.")
    src, dst = complex(*(p[-1] - p[0])), complex(*(q[-1] - q[0]))
    if src == 0:
        raise ValueError("the line to map has the same first and last point.")
    z = (p[:, 0] - p[0, 0]) + 1j * (p[:, 1] - p[0, 1])
    moved = z * (dst / src) + complex(*q[0])
    return np.stack([moved.real, moved.imag], axis=1)


def _change(earlier_deg: float, later_deg: float, sdc: float | None, threshold: float = PROGRESSION_DEG) -> dict:
    """The change from one Cobb angle to the next, its 95 % interval ``change +- SDC`` and the verdict."""
    change = float(later_deg) - float(earlier_deg)
    if sdc is None:
        return {
            "change_deg": round(change, 2),
            "interval_deg": None,
            "verdict": "not decided: no measured repeatability",
        }
    return {
        "change_deg": round(change, 2),
        "interval_deg": [round(change - sdc, 2), round(change + sdc, 2)],
        "verdict": LIKELY if change >= threshold and change > sdc else NOT_SHOWN,
    }


def _curve_row(earlier: dict | None, later: dict | None, sdc: float | None) -> dict:
    where = later or earlier
    row = {
        "convex": where["convex"],
        "region": where["region"],
        "apex_earlier": earlier["apex"] if earlier else None,
        "apex_later": later["apex"] if later else None,
        "earlier_cobb_deg": earlier["cobb_deg"] if earlier else None,
        "later_cobb_deg": later["cobb_deg"] if later else None,
    }
    if earlier is None or later is None:
        seen, missing = ("later", "earlier") if earlier is None else ("earlier", "later")
        verdict = f"seen on the {seen} photo only (under 5 deg or absent on the {missing} one)"
        return row | {"change_deg": None, "interval_deg": None, "verdict": verdict}
    return row | _change(earlier["cobb_deg"], later["cobb_deg"], sdc)


def compare_reports(earlier: dict, later: dict, sdc_deg: float | None = None) -> dict:
    """Compare two morphology reports of one patient (earlier visit, later visit), as the pipeline writes them.

    Args:
        earlier, later: reports (``curve_found``, ``curves``, ``major_cobb_deg``, ``points``); a report without a
            curve makes the comparison say so and decide nothing.
        sdc_deg: the smallest detectable change of the models that measured both (None: not measured; changes are
            then given without interval or verdict).

    Returns:
        ``{"curves": [...], "major": {...}, "verdict", "sdc_deg", "note"}``: per matched curve its side, region,
        apex at each visit, Cobb at each visit, change, 95 % interval ``change +- SDC`` and verdict; the same for
        the major Cobb angle (the largest curve of each visit, whichever it is); ``verdict`` is :data:`LIKELY` when
        the major angle's or any followed curve's verdict is, else :data:`NOT_SHOWN`; ``None`` (undecided) without
        a measured repeatability or without a curve on both photos.
    """
    if sdc_deg is not None:
        sdc_deg = float(sdc_deg)
        if not (math.isfinite(sdc_deg) and sdc_deg >= 0):
            raise ValueError(f"the smallest detectable change must be a finite number >= 0 deg; got {sdc_deg}.")
    out: dict = {"sdc_deg": None if sdc_deg is None else round(sdc_deg, 2), "progression_deg": PROGRESSION_DEG}
    missing = [f"{name} photo ({r.get('reason', '')})" for name, r in (("earlier", earlier), ("later", later))]
    missing = [m for m, r in zip(missing, (earlier, later), strict=True) if not r.get("curve_found")]
    if missing:
        return out | {"curves": [], "major": None, "verdict": None, "note": "no curve on the " + "; ".join(missing)}
    rows = [_curve_row(a, b, sdc_deg) for a, b in match_curves(earlier["curves"], later["curves"])]
    major = {"earlier_cobb_deg": earlier["major_cobb_deg"], "later_cobb_deg": later["major_cobb_deg"]}
    major |= _change(major["earlier_cobb_deg"], major["later_cobb_deg"], sdc_deg)
    decided = [r["verdict"] for r in [*rows, major] if r["verdict"] in (LIKELY, NOT_SHOWN)]
    verdict = LIKELY if LIKELY in decided else NOT_SHOWN if decided else None
    if sdc_deg is None:
        note = "no measured repeatability for these models: run benchmarks/repeatability.py or give --sdc-deg"
    elif sdc_deg > PROGRESSION_DEG:
        note = (
            f"the smallest detectable change of these models is {sdc_deg:.1f} deg, more than {PROGRESSION_DEG:g}: "
            f"a progression of {PROGRESSION_DEG:g} deg cannot be shown by two photos alone"
        )
    else:
        note = f"smallest detectable change {sdc_deg:.1f} deg (95 %, two captures of an unchanged back)"
    return out | {"curves": rows, "major": major, "verdict": verdict, "note": note}
