"""Stand-in curve networks (a perfect one, a flip-consistent one) wrapped as the curve bundle's predictor."""

from __future__ import annotations

from pathlib import Path

import torch
from monai.bundle import ConfigParser
from monai.inferers import SimpleInferer

from monai_gamanet.inference.curve import CurvePredictor

ROOT = Path(__file__).resolve().parents[1]
CURVE_INFERENCE = ROOT / "bundles" / "spine_curve_segmentation" / "configs" / "inference.yaml"


class GroundTruthCurve(torch.nn.Module):
    """Stands in for a perfect curve U-Net: logits that select the photo's ground-truth band."""

    def __init__(self, label: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("label", label.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        curve = 10.0 * self.label[None, None] - 5.0  # (1, 1, W, H)
        return torch.cat([-curve, curve], dim=1).expand(x.shape[0], -1, -1, -1)


class PointwiseCurve(torch.nn.Module):
    """A 1x1 convolution: commutes with every flip, so its flipped-back predictions agree exactly."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(channels, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 20 * self.conv(x)


def curve_predictor(
    network: torch.nn.Module, bundle_root: Path, inputs: str, decoding: str = "probability", **settings
) -> CurvePredictor:
    """``network`` with the curve bundle's own inference.yaml preprocessing for ``inputs``, on the CPU."""
    parser = ConfigParser()
    parser.read_config(str(CURVE_INFERENCE))
    parser.update({"bundle_root": str(bundle_root), "inputs": inputs, **settings})
    preprocessing = parser.get_parsed_content("preprocessing")
    return CurvePredictor(
        network, preprocessing, SimpleInferer(), torch.device("cpu"), bundle_root / "model.pt", inputs, decoding
    )
