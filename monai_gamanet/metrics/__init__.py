"""Metrics of monai-gamanet: depth (paper eqs. 12-17), curve segmentation (Table 4), spine morphology (Cobb) and the
spine's centre line read from a curve probability.

``monai_gamanet.metrics.morphology`` and ``.decoding`` are numpy-only; the depth and curve metrics import MONAI
when first used.
"""

from monai_gamanet.metrics.decoding import CURVE_DECODINGS, decode_centre_line, measure_curve_probability
from monai_gamanet.metrics.morphology import (
    SEVERITY_CLASSES,
    CobbCurve,
    cobb_angles,
    major_cobb_angle,
    severity_class,
    tangent_angles,
)

__all__ = [
    "CURVE_DECODINGS",
    "SEVERITY_CLASSES",
    "CURVE_METRICS",
    "DEPTH_METRICS",
    "CobbCurve",
    "DepthMetric",
    "cobb_angles",
    "compute_curve_metrics",
    "compute_depth_metrics",
    "decode_centre_line",
    "depth_metrics_per_image",
    "major_cobb_angle",
    "measure_curve_probability",
    "severity_class",
    "tangent_angles",
]

_LAZY = {
    "DEPTH_METRICS": "depth",
    "DepthMetric": "depth",
    "compute_depth_metrics": "depth",
    "depth_metrics_per_image": "depth",
    "CURVE_METRICS": "curve",
    "compute_curve_metrics": "curve",
}


def __getattr__(name: str):
    """Import the MONAI-based metrics on first use, so that the phantom generator stays free of MONAI."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"monai_gamanet.metrics.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'monai_gamanet.metrics' has no attribute '{name}'")
