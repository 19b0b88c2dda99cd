"""Vertebral levels: C7 to L5 in order along the spine, named back from their positions, grouped in regions."""

from __future__ import annotations

import numpy as np

from monai_gamanet.metrics.levels import LEVEL_T, LEVELS, level_t, nearest_level, region


def test_eighteen_levels_from_c7_at_0_to_l5_at_1_taller_below() -> None:
    assert len(LEVELS) == 18 and LEVELS[0] == "C7" and LEVELS[12] == "T12" and LEVELS[-1] == "L5"
    assert LEVEL_T[0] == 0.0 and LEVEL_T[-1] == 1.0 and np.all(np.diff(LEVEL_T) > 0)
    steps = np.diff(LEVEL_T)
    assert steps[-1] > steps[1]  # lumbar vertebrae are taller than thoracic ones
    assert all(nearest_level(level_t(name)) == name for name in LEVELS)


def test_regions_of_an_apex() -> None:
    assert [region(a) for a in ("T8", "T11", "T12", "L1", "L2")] == [
        "thoracic", "thoracic", "thoracolumbar", "thoracolumbar", "lumbar",
    ]  # fmt: skip
