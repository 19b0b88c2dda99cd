"""MONAI's encoders cut into five stages: strides 2 to 32, the channels they declare, any input channels."""

from __future__ import annotations

import pytest
import torch
from monai.networks.nets.resnet import ResNetBlock

from monai_gamanet.networks.encoders import ENCODERS, build_encoder_stages


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "efficientnet-b0"])
def test_five_stages_halve_the_size_and_give_the_declared_channels(name: str) -> None:
    torch.manual_seed(0)
    encoder = build_encoder_stages(name, in_channels=4)  # RGB + D
    assert len(encoder.stages) == len(encoder.channels) == 5
    y = torch.rand(1, 4, 64, 96)
    shapes = []
    with torch.inference_mode():
        for stage in encoder.stages.eval():  # each stage runs on its own, one after the other
            y = stage(y)
            shapes.append(tuple(y.shape))
    assert [s[2:] for s in shapes] == [(64 // 2**k, 96 // 2**k) for k in range(1, 6)]
    assert tuple(s[1] for s in shapes) == encoder.channels


def test_known_names_and_a_clear_error() -> None:
    assert {"resnet18", "resnet34", "efficientnet-b0", "efficientnet-b7"} <= set(ENCODERS)
    assert not any(n.startswith("efficientnet-l") for n in ENCODERS)  # only the b0-b7 family
    with pytest.raises(ValueError, match="unknown encoder 'vgg16'; choose one of resnet10"):
        build_encoder_stages("vgg16")


def test_resnet_stages_use_projection_shortcuts_and_compile_to_torchscript() -> None:
    encoder = build_encoder_stages("resnet18")
    assert encoder.stages[0][0].kernel_size == (7, 7) and encoder.stages[0][0].stride == (2, 2)
    downsample = [m for m in encoder.stages.modules() if isinstance(m, ResNetBlock) and m.downsample is not None]
    assert downsample and all(isinstance(m.downsample[0], torch.nn.Conv2d) for m in downsample)  # type "B"
    stage = encoder.stages[2].eval()
    scripted = torch.jit.script(stage)
    x = torch.rand(1, 64, 16, 16)
    with torch.inference_mode():
        torch.testing.assert_close(scripted(x), stage(x))
