"""Losses of monai-gamanet: BerHu, gradient and the composite depth loss (SSIM comes from ``monai.losses``)."""

from monai_gamanet.losses.depth import BerHuLoss, DepthLoss, GradientLoss

__all__ = ["BerHuLoss", "DepthLoss", "GradientLoss"]
