"""The editing effort of a proposed curve: the share of the true C7-L5 line a specialist would redraw."""

from __future__ import annotations

import numpy as np
import pytest

from monai_gamanet.metrics.editing import redraw_share

TRUTH = np.stack([np.full(101, 50.0), np.arange(101.0)], axis=1)  # a straight line, 100 px


def test_a_proposal_within_the_tolerance_needs_no_redrawing() -> None:
    assert redraw_share(TRUTH + [2.0, 0.0], TRUTH, spacing=1.0) == 0.0  # 2 mm off: left as it is
    assert redraw_share(TRUTH[::10], TRUTH) == 0.0  # the same line with fewer points


def test_the_share_off_the_spine_or_missing_is_redrawn() -> None:
    off = TRUTH.copy()
    off[50:, 0] += 10.0  # the lower half 10 px off (and a 10 px jump at the middle)
    assert redraw_share(off, TRUTH) == pytest.approx(0.5, abs=0.03)
    assert redraw_share(TRUTH[:75], TRUTH) == pytest.approx(0.22, abs=0.03)  # stops short of L5
    assert redraw_share(None, TRUTH) == 1.0  # no curve found: all of it by hand
    # measured in millimetres: 2 px off at 2 mm per pixel is 4 mm, beyond 3 mm
    assert redraw_share(TRUTH + [2.0, 0.0], TRUTH, spacing=2.0) == 1.0
    assert redraw_share(TRUTH + [2.0, 0.0], TRUTH, spacing=2.0, tolerance_mm=5.0) == 0.0


def test_bad_lines_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 finite"):
        redraw_share([[1.0, np.nan], [2.0, 3.0]], TRUTH)
    with pytest.raises(ValueError, match="tolerance"):
        redraw_share(TRUTH, TRUTH, tolerance_mm=-1.0)
