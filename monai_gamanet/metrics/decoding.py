"""The spine's centre line read from the curve network's probability map, without a 0.5 threshold.

The paper's curve stage is a segmentation: the usual read-out thresholds the band probability at 0.5 and measures
the mask (:func:`~monai_gamanet.metrics.centre_line.centre_line`). On the phantom a network trained with the paper's
cross entropy stays calibrated to the thin band (about 2 % of the pixels) and its band probability often stays just
under 0.5 (peak 0.44-0.58 per photo, measured): the mask is empty or broken and "no curve found" follows, although
the probability shows where the spine runs. Nothing in MONAI reads a line out of a probability map, so this module
does, in two steps that depend only on where the probability is *relatively* high:

1. the spine's extent (C7 to L5): the rows whose peak probability reaches ``relative`` x the typical peak of the
   photo's rows (the 90th percentile over the rows above ``floor``), the longest such run, gaps of a few rows
   bridged;
2. per row of that extent, the expected column of the band's core (the probability above half its peak in a window
   that follows the line from its most certain row upwards and downwards, so that neither the band's soft tails nor
   a stray blob beside the back pull the line over).

Measured on a trained RGB U-Net (Dice + cross entropy, 60 test photos; ``benchmarks/curve_decoding.py``): the core
read this way gives the Cobb angle as well as the 0.5 mask on the photos both read (paired -0.18 ± 0.32 deg) and a
line on every photo; weighting the whole window (background removed by the row's median) was worse (+0.34 ± 0.59).

A photo whose probability nowhere reaches ``floor`` (no back, or a network that sees no spine) gives
:class:`~monai_gamanet.metrics.centre_line.NoCurveFound`; an uncertain band still gives its line.
"""

from __future__ import annotations

import numpy as np

from monai_gamanet.metrics.centre_line import NoCurveFound, centre_line
from monai_gamanet.metrics.morphology import SpineMorphology, measure_spine

__all__ = ["CURVE_DECODINGS", "probability_centre_line", "decode_centre_line", "measure_curve_probability"]

CURVE_DECODINGS = ("probability", "mask")  # the expected column per row (default), or the 0.5 mask's band


def _as_map(probability: np.ndarray) -> np.ndarray:
    p = np.asarray(probability, dtype=np.float64)
    if p.ndim == 3 and p.shape[0] == 1:
        p = p[0]
    if p.ndim != 2:
        raise ValueError(f"a curve probability must be 2D (W, H) or (1, W, H); got shape {np.shape(probability)}.")
    return np.clip(np.nan_to_num(p, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


def _longest_run(rows: np.ndarray, max_gap: int) -> tuple[int, int]:
    """First and last row of the longest run of ``rows`` (sorted indices) whose gaps are at most ``max_gap``."""
    breaks = np.nonzero(np.diff(rows) > max_gap + 1)[0]
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(rows) - 1]])
    best = int(np.argmax(rows[ends] - rows[starts]))
    return int(rows[starts[best]]), int(rows[ends[best]])


def probability_centre_line(
    probability: np.ndarray,
    min_height: float = 0.25,
    floor: float = 0.05,
    relative: float = 0.5,
    window: float = 0.06,
    max_gap: float = 0.05,
) -> np.ndarray:
    """The ordered centre line (x, y) of the spine, one point per row, C7 (top) first, from a curve probability.

    Args:
        probability: (W, H) or (1, W, H) probability of the curve class in MONAI's axis order.
        min_height: the line must span at least this fraction of the image's height.
        floor: below this peak probability anywhere, the network sees no spine: :class:`NoCurveFound`.
        relative: a row belongs to the spine when its peak reaches this fraction of the photo's typical row peak.
        window: half-width of the window that follows the line, as a fraction of the image's width.
        max_gap: rows below ``relative`` bridged inside the spine, as a fraction of the image's height.

    Raises:
        NoCurveFound: the probability stays under ``floor``, or the spine's rows span too little of the height.
    """
    p = _as_map(probability)
    width, height = p.shape
    peaks = p.max(axis=0)  # (H,) each row's peak
    if peaks.max() < floor:
        raise NoCurveFound(
            f"no curve found: the curve probability stays under {floor:g} everywhere (peak {peaks.max():.3f})."
        )
    typical = np.percentile(peaks[peaks >= floor], 90)
    rows = np.nonzero(peaks >= max(floor, relative * typical))[0]
    top, bottom = _longest_run(rows, max(1, round(max_gap * height)))
    if bottom - top + 1 < min_height * height:
        raise NoCurveFound(
            f"no curve found: the spine's rows span {bottom - top + 1} of {height} (less than {min_height:.0%})."
        )
    half = max(2, round(window * width))
    columns = np.arange(width, dtype=np.float64)
    x = np.full(height, np.nan)
    start = top + int(np.argmax(peaks[top : bottom + 1]))
    for order in (range(start, top - 1, -1), range(start, bottom + 1)):
        centre = float(np.argmax(p[:, start]))
        for y in order:
            lo, hi = max(0, round(centre) - half), min(width, round(centre) + half + 1)
            w = p[lo:hi, y]
            w = np.clip(w - 0.5 * w.max(), 0.0, None)  # the band's core: above half the window's peak
            if w.sum() > 1e-6:
                centre = float((columns[lo:hi] * w).sum() / w.sum())
                x[y] = centre
    every = np.arange(top, bottom + 1)
    known = every[np.isfinite(x[every])]
    if len(known) < 2:
        raise NoCurveFound("no curve found: too few rows carry a curve probability above their background.")
    return np.stack([np.interp(every, known, x[known]), every.astype(np.float64)], axis=1)


def decode_centre_line(probability: np.ndarray, decoding: str = "probability") -> np.ndarray:
    """The centre line of a curve probability by ``decoding``: ``"probability"`` (:func:`probability_centre_line`)
    or ``"mask"`` (the 0.5 mask's largest band, :func:`~monai_gamanet.metrics.centre_line.centre_line`)."""
    if decoding not in CURVE_DECODINGS:
        raise ValueError(f"unknown curve decoding '{decoding}'; choose from {', '.join(CURVE_DECODINGS)}.")
    if decoding == "mask":
        return centre_line(_as_map(probability) > 0.5)
    return probability_centre_line(probability)


def measure_curve_probability(
    probability: np.ndarray,
    spacing: tuple[float, float] | float = 1.0,
    decoding: str = "probability",
    smoothing: float = 1.0,
    min_cobb: float = 5.0,
) -> SpineMorphology:
    """:func:`~monai_gamanet.metrics.morphology.measure_spine` of the line :func:`decode_centre_line` reads out of a
    curve probability (raises :class:`NoCurveFound` when it finds none)."""
    return measure_spine(decode_centre_line(probability, decoding), spacing, smoothing, min_cobb)
