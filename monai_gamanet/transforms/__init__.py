"""MONAI array and dictionary transforms of monai-gamanet (MONAI's (C, W, H) axis order throughout)."""

from monai_gamanet.transforms.curve import (
    CurveToMask,
    CurveToMaskd,
    CurveTruthd,
    LoadCurved,
    MaskToCurve,
    MaskToCurved,
    load_curve,
)
from monai_gamanet.transforms.depth import NormalizeDepth, NormalizeDepthd, valid_depth_mask
from monai_gamanet.transforms.io import CheckPhotoSized, CheckSpatialShaped, EnsureRGB, EnsureRGBd, LoadBackSampled
from monai_gamanet.transforms.rgbd import ConcatRGBD, ConcatRGBDd
from monai_gamanet.transforms.writers import SaveDepthPreviewd, SingleChannelMetad

__all__ = [
    "CheckPhotoSized",
    "CheckSpatialShaped",
    "ConcatRGBD",
    "ConcatRGBDd",
    "CurveToMask",
    "CurveToMaskd",
    "CurveTruthd",
    "EnsureRGB",
    "EnsureRGBd",
    "LoadBackSampled",
    "LoadCurved",
    "MaskToCurve",
    "MaskToCurved",
    "NormalizeDepth",
    "NormalizeDepthd",
    "SaveDepthPreviewd",
    "SingleChannelMetad",
    "load_curve",
    "valid_depth_mask",
]
