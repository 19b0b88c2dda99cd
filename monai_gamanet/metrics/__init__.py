"""Metrics of monai-gamanet: vertebral levels, spine morphology (Cobb), the spine's centre line read from a curve
probability (numpy only, exported here: the phantom generator measures its ground truth with them), and the
MONAI-based metrics in their own modules: :mod:`monai_gamanet.metrics.depth` (paper eqs. 12-17),
:mod:`monai_gamanet.metrics.curve` (Table 4's mask metrics and the Cobb, severity and curve-type metrics).
"""

from monai_gamanet.metrics.decoding import CURVE_DECODINGS, decode_centre_line, measure_curve_probability
from monai_gamanet.metrics.levels import LEVEL_T, LEVELS, nearest_level
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
    "LEVELS",
    "LEVEL_T",
    "SEVERITY_CLASSES",
    "CobbCurve",
    "cobb_angles",
    "decode_centre_line",
    "major_cobb_angle",
    "measure_curve_probability",
    "nearest_level",
    "severity_class",
    "tangent_angles",
]
