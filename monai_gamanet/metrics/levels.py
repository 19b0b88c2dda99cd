"""The vertebral levels C7 to L5 and where each lies along the spine: anatomy facts shared by the morphology (apex
and end vertebrae named), the Slicer markups (control points labelled) and the phantom (built on them).

Positions ``t`` run from 0 at C7's centre to 1 at L5's, from the relative heights of the vertebrae plus discs
(lumbar ones are taller). numpy only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LEVELS", "LEVEL_T", "level_t", "nearest_level", "region"]

LEVELS: tuple[str, ...] = ("C7",) + tuple(f"T{i}" for i in range(1, 13)) + tuple(f"L{i}" for i in range(1, 6))
# relative heights of the vertebrae plus discs, C7 to L5
_LEVEL_HEIGHTS = np.array([0.78] + list(np.linspace(0.80, 1.12, 12)) + [1.25, 1.30, 1.34, 1.36, 1.36])
_centres = np.cumsum(_LEVEL_HEIGHTS) - _LEVEL_HEIGHTS / 2
LEVEL_T: np.ndarray = (_centres - _centres[0]) / (_centres[-1] - _centres[0])  # C7 at t = 0, L5 at t = 1


def level_t(name: str) -> float:
    """Position of a vertebra's centre along the spine, 0 at C7 and 1 at L5."""
    return float(LEVEL_T[LEVELS.index(name)])


def nearest_level(t: float) -> str:
    """Name of the vertebra whose centre is nearest to the spine position ``t``."""
    return LEVELS[int(np.argmin(np.abs(LEVEL_T - t)))]


def region(apex: str) -> str:
    """The spine region of an apex level (SRS terminology): thoracic to T11, thoracolumbar T12-L1, lumbar below."""
    i = LEVELS.index(apex)
    return "thoracic" if i <= LEVELS.index("T11") else "thoracolumbar" if i <= LEVELS.index("L1") else "lumbar"
