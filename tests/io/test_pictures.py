"""Pictures: depth colour-mapped over its measured pixels, the curve and the report drawn over a photo, panels in a
grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from monai_gamanet.io.pictures import colorize_depth, overlay_curve, panel_grid


def test_colorize_depth_stretches_over_the_measured_pixels() -> None:
    depth = np.tile(np.linspace(700.0, 1400.0, 20), (10, 1))  # millimetres, far towards the right
    depth[:, :2] = 0  # no measurement
    picture = colorize_depth(depth)
    assert picture.shape == (10, 20, 3) and picture.dtype == np.uint8
    assert not picture[:, :2].any()  # unmeasured pixels: black
    near, far = picture[0, 3].astype(int), picture[0, -1].astype(int)
    assert near[0] > near[2] and far[2] > far[0]  # turbo reversed: near red, far blue
    np.testing.assert_array_equal(colorize_depth(depth / 1024), picture)  # any unit (an exact rescale): the same
    error = colorize_depth(depth, reverse=False, cmap="magma", invalid_rgb=(9, 9, 9))
    assert (error[:, :2] == 9).all() and error[0, -1].sum() > error[0, 3].sum()  # large values bright
    nothing = colorize_depth(np.zeros((4, 4)), invalid_rgb=(1, 2, 3))
    assert (nothing == [1, 2, 3]).all()
    nan = depth.copy()
    nan[0, 10] = np.nan
    assert not colorize_depth(nan, np.ones(depth.shape, bool))[0, 10].any()  # not finite: not measured


def test_overlay_curve_tints_the_band_and_draws_the_line() -> None:
    photo = np.full((40, 30, 3), 100, np.uint8)
    band = np.zeros((40, 30), bool)
    band[:, 14:17] = True
    out = overlay_curve(photo, band, alpha=0.5)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert (np.abs(out[band] - (0.5 * 100 + 0.5 * np.array([255, 40, 40]))) <= 1).all()  # half photo, half tint
    assert (out[~band] == 100).all()
    lined = overlay_curve(photo, points=np.array([[5.0, 0.0], [5.0, 39.0]]))  # (x, y): column 5, top to bottom
    assert (lined[:, 5] == [255, 230, 0]).all() and (lined[:, 6:] == 100).all()
    assert (overlay_curve(photo) == photo).all()


def test_panel_grid_lays_rows_of_panels_with_captions() -> None:
    red, blue = np.zeros((20, 10, 3), np.uint8), np.zeros((20, 10, 3), np.uint8)
    red[..., 0], blue[..., 2] = 255, 255
    grid = panel_grid([[red, blue, red], [blue]], gap=4)
    assert isinstance(grid, Image.Image) and grid.size == (3 * 14 + 4, 2 * 24 + 4)
    pixels = np.asarray(grid)
    assert (pixels[4:24, 4:14] == [255, 0, 0]).all() and (pixels[4:24, 18:28] == [0, 0, 255]).all()
    assert (pixels[28:48, 4:14] == [0, 0, 255]).all() and (pixels[28:48, 18:] == 255).all()  # a short row: white
    captioned = panel_grid([[red], [blue]], ["first", "second"], gap=2)
    assert captioned.size == (14, 2 * (20 + 14 + 2) + 2)
    assert np.asarray(captioned)[2:16].min() < 255  # the caption is written above its row
    assert panel_grid([[red]], scale=0.5).size == (9, 14)


def test_overlay_draws_the_measured_spine_and_says_when_there_is_none(tmp_path: Path) -> None:
    """The picture of a report: Cobb lines and text on the photo; a blank photo gets 'no curve found'."""
    from monai_gamanet.data.synthetic import generate_sample
    from monai_gamanet.io.pictures import overlay_morphology
    from monai_gamanet.metrics.centre_line import NoCurveFound
    from monai_gamanet.metrics.morphology import measure_curve_mask

    sample = generate_sample(3, seed=2)
    report = measure_curve_mask(sample.label.T, sample.curve["pixel_spacing_mm"]).to_dict()
    picture = overlay_morphology(sample.image, report, sample.label)
    assert picture.shape == sample.image.shape and picture.dtype == np.uint8
    changed = np.any(picture != sample.image, axis=-1)
    assert changed[sample.label > 0].mean() > 0.9  # the band is tinted
    assert changed[sample.label == 0].sum() > 200  # Cobb lines, text and the C7-L5 line beyond the band
    Image.fromarray(picture).save(tmp_path / "overlay.png")
    blank = np.zeros_like(sample.image)
    with pytest.raises(NoCurveFound):
        measure_curve_mask(np.zeros(sample.label.T.shape))
    none = overlay_morphology(blank, {"curve_found": False})
    assert none.any() and none.shape == blank.shape  # the message is drawn, nothing else
