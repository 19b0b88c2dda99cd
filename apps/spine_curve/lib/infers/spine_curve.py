"""The app's infer tasks: back depth, and the chain photo -> depth -> RGBD -> spine curve (label, report, markups).

MONAI Label's ``BundleInferTask`` runs one network and loads weights non-strictly; these tasks use MONAI Label's
``BasicInferTask`` (its request handling, device choice, latencies and ``Writer``) but build each network from its
bundle's own config with the weights loaded strictly (:class:`monai_gamanet.inference.bundles.ReloadingModel`), and run
the chain as MONAI Label's radiology vertebra pipeline does: the depth task is a sub-task run with ``skip_writer``
(its data handed back in memory), the curve network runs on the photo and that depth, and one label is written.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from monailabel.interfaces.tasks.infer_v2 import InferType
from monailabel.tasks.infer.basic_infer import BasicInferTask
from monailabel.transform.writer import Writer

from monai_gamanet.inference.bundles import ModelLoadError, ReloadingModel
from monai_gamanet.inference.chain import SpineChain, load_photo
from monai_gamanet.io.markups import write_markups

logger = logging.getLogger(__name__)

LABEL_EXTENSIONS = (".nrrd", ".nii.gz", ".nii", ".png")
DEPTH_EXTENSIONS = (".nii.gz", ".nii", ".nrrd")


class _ModelTask(BasicInferTask):
    """A ``BasicInferTask`` whose network is a :class:`ReloadingModel` (no transforms of MONAI Label's own)."""

    def __init__(self, model: ReloadingModel, type: str, labels, description: str, config: dict) -> None:
        super().__init__(
            path=str(model.weights),
            network=None,
            type=type,
            labels=labels,
            dimension=2,
            description=description,
            load_strict=True,
            config=config,
        )
        self.model = model

    def is_valid(self) -> bool:  # listed by /info only once trained weights exist
        return self.model.available()

    def loaded(self, device: str):
        """The model on ``device``; weights that do not fit the bundle's network answer 503 with the reason."""
        from lib.datastore import Refused

        try:
            return self.model.get(device)
        except ModelLoadError as err:
            raise Refused(503, f"{err}; train the model again or put back a good model.pt.") from err
        except FileNotFoundError as err:
            raise Refused(503, f"no trained model at {self.model.weights}: {err}") from err

    def pre_transforms(self, data=None) -> list:
        return []

    def inverse_transforms(self, data=None):
        return None

    def post_transforms(self, data=None) -> list:
        return []


class BackDepth(_ModelTask):
    """``back_depth`` (type "others"): the photo's relative depth in [0, 1], a float image the photo's size.

    Written as float32 NIfTI (or NRRD) with MONAI Label's writer, which gives a 2D result spacing 1, origin 0 and
    identity direction: it lies on the photo as 3D Slicer places a PNG.
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
        data["result_dtype"] = "float32"  # depth is never rounded to a label type
        return Writer(label="pred", json="result")(data)


class SpineCurve(_ModelTask):
    """``spine_curve`` (type segmentation, what 3D Slicer lists): photo -> depth -> RGBD -> the curve label.

    One label is written (0 background, 1 spine curve; uint8 in the format asked for: ``.nrrd`` from Slicer, else
    PNG); the
    result JSON carries the morphology report (``morphology``: Cobb angles, apex, deviation, curve type, severity,
    points; or ``curve_found: false`` and the reason). Optional params: ``spacing`` (mm per pixel, default 1: lengths
    in pixels) and ``depth_range_mm`` (for the 3D curve of ``spine_curve_markups``).
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
        data["result_dtype"] = "uint8"
        return Writer(label="pred", json="result")(data)


class SpineCurveMarkups(SpineCurve):
    """``spine_curve_markups`` (type "others"): the same chain, answered with the 3D Slicer markups curve.

    ``.mrk.json`` (schema v1.0.3, one ``Curve``, LPS, mm, control points labelled by level): the curve on the photo
    (z = 0), or with ``{"surface": true}`` on the back's surface (z from the estimated depth). No curve found: JSON
    only (the report says why). Never typed "detection": Slicer would then submit ROI JSON instead of labels.
    """

    def __init__(self, model: ReloadingModel, depth_task: BackDepth) -> None:
        super().__init__(model, depth_task, InferType.OTHERS)
        self.description = "The spine curve as a 3D Slicer markups curve (.mrk.json); {'surface': true} for 3D"

    def writer(self, data: dict[str, Any], extension=None, dtype=None):
        markups = data["markups"]["surface" if str(data.get("surface", "")).lower() == "true" else "flat"]
        if markups is None:
            return None, data["result"]
        with tempfile.NamedTemporaryFile(prefix="spine_curve_", suffix=".mrk.json", delete=False) as f:
            path = Path(f.name)  # removed by MONAI Label once sent
        write_markups(path, markups)
        return str(path), data["result"]
