"""Inference of monai-gamanet: the trained bundles found and loaded, typed predictors, and the one chain
photo -> depth -> RGBD -> curve -> report that the pipeline, the Label app and its trainers share."""

from monai_gamanet.inference.bundles import BUNDLES, ModelLoadError, ReloadingModel, home, run_bundle
from monai_gamanet.inference.chain import CurveResult, SpineChain, describe_curve, load_photo
from monai_gamanet.inference.curve import CurvePredictor, curve_in_channels, curve_input_keys, curve_uncertainty
from monai_gamanet.inference.depth import DepthPredictor
from monai_gamanet.inference.depth_cache import CachedDepthd, DepthCache, cache_depth, write_depth_png

__all__ = [
    "BUNDLES",
    "CachedDepthd",
    "CurvePredictor",
    "CurveResult",
    "DepthCache",
    "DepthPredictor",
    "ModelLoadError",
    "ReloadingModel",
    "SpineChain",
    "cache_depth",
    "curve_in_channels",
    "curve_input_keys",
    "curve_uncertainty",
    "describe_curve",
    "home",
    "load_photo",
    "run_bundle",
    "write_depth_png",
]
