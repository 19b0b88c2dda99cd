"""``back_depth``: the photo's relative depth estimated by the back_depth_estimation bundle's GAMA-Net."""

from __future__ import annotations

from typing import Any

import numpy as np
from monailabel.interfaces.tasks.infer_v2 import InferType

from lib.infers.base import DEPTH_EXTENSIONS, ModelTask, write_result
from monai_gamanet.inference.bundles import ReloadingModel


class BackDepth(ModelTask):
    """``back_depth`` (type "others"): the photo's relative depth in [0, 1], a float image the photo's size.

    Written as a float32 one-slice NIfTI (or NRRD) volume at spacing 1, origin 0 and identity direction: it lies on
    the photo as 3D Slicer places a PNG (:func:`write_result`).
    """

    def __init__(self, model: ReloadingModel) -> None:
        super().__init__(
            model,
            InferType.OTHERS,
            None,
            "Relative depth of the back (0 = nearest) estimated from the photo by GAMA-Net (back_depth_estimation)",
            {"result_extension": ".nii.gz"},
        )

    def run_inferer(self, data: dict[str, Any], convert_to_batch: bool = True, device: str = "cuda") -> dict:
        depth = self.loaded(device)(data["image"])  # (W, H) at the photo's size
        data["pred"] = depth.astype(np.float32)
        return data

    def writer(self, data: dict[str, Any], extension=None, dtype=None):
        ext = data.get("result_extension")
        data["result_extension"] = ext if ext in DEPTH_EXTENSIONS else ".nii.gz"
        data["result"] = data.get("result") or {}
        return write_result(data, "float32")  # depth is never rounded to a label type
