"""The spine's centre line read from a band mask: the one function the morphology, the reports and the
``MaskToCurve`` transform use, so a user's post-processing and the report cannot disagree. numpy and scipy only.

(A curve probability without a 0.5 threshold is read by :mod:`monai_gamanet.metrics.decoding`.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["NoCurveFound", "centre_line"]


class NoCurveFound(ValueError):
    """The mask holds no spine curve (empty, or pixels that do not form a band from top to bottom)."""


def centre_line(
    mask: np.ndarray, min_height: float = 0.25, max_width: float = 0.2, n_points: int | None = None
) -> np.ndarray:
    """The ordered centre line of a spine band mask: one point per row, C7 (top) first.

    The band is the mask's largest 8-connected component; each of its rows gives the mean column of its pixels
    (a centre line, not a contour). Anything that is not a band running down the back is refused.

    Args:
        mask: (W, H) array in MONAI's axis order, or (1, W, H); values > 0 are band.
        min_height: the band must span at least this fraction of the image's height.
        max_width: and be, on average, at most this fraction of the image's width wide per row.
        n_points: resample the line to this many points evenly spaced in y; ``None`` keeps one point per row.

    Raises:
        NoCurveFound: empty mask, or a component too short or too wide to be a spine band (blank or noise).
    """
    from scipy import ndimage  # only this function needs it

    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 2:
        raise ValueError(f"a curve mask must be 2D (W, H) or (1, W, H); got shape {np.shape(mask)}.")
    m = np.nan_to_num(m.astype(np.float64)) > 0
    if not m.any():
        raise NoCurveFound("no curve found: the mask is empty.")
    labels, n = ndimage.label(m, structure=np.ones((3, 3), dtype=bool))
    sizes = np.bincount(labels.ravel())[1:]
    band = labels == 1 + int(np.argmax(sizes))
    per_row = band.sum(axis=0)
    rows = np.nonzero(per_row)[0]
    height = rows[-1] - rows[0] + 1
    if height < min_height * m.shape[1]:
        raise NoCurveFound(
            f"no curve found: the largest band spans {height} of {m.shape[1]} rows (less than {min_height:.0%})."
        )
    if per_row[rows].mean() > max_width * m.shape[0]:
        raise NoCurveFound(
            f"no curve found: the largest component is {per_row[rows].mean():.0f} pixels wide on average, not a "
            f"band (over {max_width:.0%} of the image's width)."
        )
    x = (np.arange(m.shape[0])[:, None] * band).sum(axis=0)[rows] / per_row[rows]
    y = rows.astype(np.float64)
    # rows a thin, steep band skips (none in a drawn band; possible in a predicted one): interpolate
    every = np.arange(rows[0], rows[-1] + 1, dtype=np.float64)
    if n_points is not None and len(every) > 1:
        every = np.linspace(every[0], every[-1], n_points)
    return np.stack([np.interp(every, y, x), every], axis=1)
