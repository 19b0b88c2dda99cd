"""The depth bundle's writers: predictions marked single-channel for MONAI's writers, and the colour preview named
after its photo, in the photo's display orientation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from monai.data import MetaTensor
from PIL import Image

from monai_gamanet.io.pictures import colorize_depth
from monai_gamanet.transforms.writers import SaveDepthPreviewd, SingleChannelMetad


def test_single_channel_meta_is_set_on_predictions_only() -> None:
    pred = MetaTensor(torch.rand(1, 8, 6), meta={"original_channel_dim": -1})
    plain = torch.rand(1, 8, 6)
    d = SingleChannelMetad(keys=["pred", "plain"])({"pred": pred, "plain": plain, "image": "photo.png"})
    assert d["pred"].meta["original_channel_dim"] == "no_channel"
    assert d["plain"] is plain and d["image"] == "photo.png"
    assert SingleChannelMetad(keys="depth", allow_missing_keys=True)({"pred": pred}) == {"pred": pred}


def test_preview_is_named_after_the_photo_and_drawn_in_display_order(tmp_path: Path) -> None:
    depth = torch.linspace(0.0, 1.0, 48)[:, None].expand(48, 96)[None].clone()  # (1, W, H): far towards the right
    photo = MetaTensor(torch.zeros(3, 48, 96), meta={"filename_or_obj": "/data/images/case_0007.png"})
    out = tmp_path / "previews"
    d = SaveDepthPreviewd(keys="pred", output_dir=str(out))({"pred": depth, "image": photo})
    assert d["pred"] is depth
    (written,) = out.iterdir()
    assert written.name == "case_0007_depth_preview.png"
    picture = np.asarray(Image.open(written))
    assert picture.shape == (96, 48, 3)  # (H, W, RGB): the photo's display order
    np.testing.assert_array_equal(picture, colorize_depth(depth[0].numpy().T, np.ones((96, 48), bool)))
    left, right = picture[:, 2].astype(int), picture[:, -3].astype(int)
    assert left[:, 0].mean() > left[:, 2].mean() and right[:, 2].mean() > right[:, 0].mean()  # near red, far blue


def test_preview_without_a_photo_name_and_a_custom_postfix(tmp_path: Path) -> None:
    SaveDepthPreviewd(output_dir=str(tmp_path), postfix="preview")({"pred": torch.rand(1, 16, 32)})
    assert [p.name for p in tmp_path.iterdir()] == ["depth_preview.png"]
