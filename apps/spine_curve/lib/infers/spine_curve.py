"""``spine_curve`` and ``spine_curve_markups``: photo -> depth -> RGBD -> spine curve (label, report, markups).

Run as MONAI Label's radiology vertebra pipeline runs its chain: the depth task (:class:`lib.infers.back_depth.
BackDepth`) is a sub-task run with ``skip_writer`` (its data handed back in memory), the curve network runs on the
photo and that depth (:class:`monai_gamanet.inference.chain.SpineChain`), and one result is written.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from monailabel.interfaces.tasks.infer_v2 import InferType

from lib.infers.back_depth import BackDepth
from lib.infers.base import LABEL_EXTENSIONS, ModelTask, write_result
from monai_gamanet.inference.bundles import ReloadingModel
from monai_gamanet.inference.chain import SpineChain, load_photo
from monai_gamanet.io.markups import write_markups


class SpineCurve(ModelTask):
    """``spine_curve`` (type segmentation, what 3D Slicer lists): photo -> depth -> RGBD -> the curve label.

    One label is written (0 background, 1 spine curve; uint8 in the format asked for: ``.nrrd`` from Slicer, as a
    one-slice volume, else PNG); the result JSON carries the morphology report (``morphology``: Cobb angles, apex,
    deviation, curve type, severity, points; or ``curve_found: false`` and the reason). Optional params:
    ``spacing`` (mm per pixel, default 1: lengths in pixels) and ``depth_range_mm`` (for the 3D curve of
    ``spine_curve_markups``).
    """

    def __init__(self, model: ReloadingModel, depth_task: BackDepth, type: str = InferType.SEGMENTATION) -> None:
        super().__init__(
            model,
            type,
            {"spine": 1},
            "Spine curve (C7 to L5) from the photo and its estimated depth; the report gives Cobb angles and severity",
            {},
        )
        self.depth_task = depth_task

    def is_valid(self) -> bool:
        return self.model.available() and self.depth_task.is_valid()

    def run_inferer(self, data: dict[str, Any], convert_to_batch: bool = True, device: str = "cuda") -> dict:
        photo = Path(data["image"])
        _, depth_data = self.depth_task({"image": str(photo), "device": device, "skip_writer": True})
        chain = SpineChain(self.depth_task.loaded(device), self.loaded(device))
        name = str(data.get("image_id") or photo.stem)
        spacing = float(data.get("spacing", 1.0))
        result = chain(load_photo(photo), name, spacing, data.get("depth_range_mm"), depth=depth_data["pred"])
        data["pred"] = result.label  # (W, H) uint8: MONAI Label's writer restores the file's (H, W)
        data["result"] = {"morphology": result.report}
        data["markups"] = {"flat": result.flat, "surface": result.surface}
        return data

    def writer(self, data: dict[str, Any], extension=None, dtype=None):
        ext = data.get("result_extension")
        data["result_extension"] = ext if ext in LABEL_EXTENSIONS else ".png"  # never a lossy JPEG label
        return write_result(data, "uint8")


class SpineCurveMarkups(SpineCurve):
    """``spine_curve_markups`` (type segmentation, so that 3D Slicer's panel lists it): the same chain, answered with
    the 3D Slicer markups curve.

    ``.mrk.json`` (schema v1.0.3, one ``Curve`` in the photo's pixels, control points labelled by level, the
    morphology as measurements): the curve on the photo (z = 0), or with ``{"surface": true}`` on the back's surface
    (z from the estimated depth). The MONAI Label plugin loads any ``.json`` result with ``loadMarkups``, so "Run"
    puts the curve straight into the scene. No curve found: JSON only (the report says why). Never typed
    "detection": Slicer would then submit ROI JSON instead of the corrected label.
    """

    def __init__(self, model: ReloadingModel, depth_task: BackDepth) -> None:
        super().__init__(model, depth_task, InferType.SEGMENTATION)
        self.description = "The spine curve as a 3D Slicer markups curve (.mrk.json); {'surface': true} for 3D"

    def writer(self, data: dict[str, Any], extension=None, dtype=None):
        markups = data["markups"]["surface" if str(data.get("surface", "")).lower() == "true" else "flat"]
        if markups is None:
            return None, data["result"]
        with tempfile.NamedTemporaryFile(prefix="spine_curve_", suffix=".mrk.json", delete=False) as f:
            path = Path(f.name)  # removed by MONAI Label once sent
        write_markups(path, markups)
        return str(path), data["result"]
