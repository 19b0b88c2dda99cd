"""Metrics of monai-gamanet."""

from monai_gamanet.metrics.morphology import (
    SEVERITY_CLASSES,
    CobbCurve,
    cobb_angles,
    major_cobb_angle,
    severity_class,
    tangent_angles,
)

__all__ = ["SEVERITY_CLASSES", "CobbCurve", "cobb_angles", "major_cobb_angle", "severity_class", "tangent_angles"]
