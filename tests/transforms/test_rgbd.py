from __future__ import annotations

import pytest
import torch

from monai_gamanet.transforms import ConcatRGBD, ConcatRGBDd


def test_concat() -> None:
    image, depth = torch.rand(3, 8, 16), torch.rand(1, 8, 16)
    out = ConcatRGBDd()({"image": image, "depth": depth})["rgbd"]
    assert out.shape == (4, 8, 16)
    torch.testing.assert_close(out[:3], image)
    torch.testing.assert_close(out[3:], depth)


@pytest.mark.parametrize(
    "image, depth, message",
    [
        (torch.rand(3, 8, 16), torch.rand(1, 8, 8), "same size"),
        (torch.rand(1, 8, 16), torch.rand(1, 8, 16), r"\(3, W, H\) photo"),
        (torch.rand(3, 8, 16), torch.rand(3, 8, 16), r"\(1, W, H\) depth"),
    ],
)
def test_refused(image: torch.Tensor, depth: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConcatRGBD()(image, depth)


def test_missing_depth_key() -> None:
    with pytest.raises(KeyError, match="depth"):
        ConcatRGBDd()({"image": torch.rand(3, 4, 4)})
