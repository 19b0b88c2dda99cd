"""What the app's infer tasks share: a MONAI Label ``BasicInferTask`` on a trained bundle, and the result writer.

MONAI Label's ``BundleInferTask`` runs one network and loads weights non-strictly; these tasks use MONAI Label's
``BasicInferTask`` (its request handling, device choice, latencies and ``Writer``) but build each network from its
bundle's own config with the weights loaded strictly (:class:`monai_gamanet.inference.bundles.ReloadingModel`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from monailabel.tasks.infer.basic_infer import BasicInferTask
from monailabel.transform.writer import Writer

from lib.errors import Refused
from monai_gamanet.inference.bundles import ModelLoadError, ReloadingModel
from monai_gamanet.io.volumes import VOLUME_SUFFIXES, write_slice_volume

LABEL_EXTENSIONS = (".nrrd", ".nii.gz", ".nii", ".png")
DEPTH_EXTENSIONS = VOLUME_SUFFIXES


def write_result(data: dict[str, Any], dtype: str) -> tuple[str, dict]:
    """The result ``data["pred"]`` (W, H) in ``data["result_extension"]``: NRRD / NIfTI as a one-slice volume
    (:func:`monai_gamanet.io.volumes.write_slice_volume`: what 3D Slicer 5.10 and 5.12 both import onto the photo),
    PNG through MONAI Label's writer; with the result JSON. The file is removed by MONAI Label once sent."""
    ext = data["result_extension"]
    if ext not in VOLUME_SUFFIXES:
        data["result_dtype"] = dtype
        return Writer(label="pred", json="result")(data)
    with tempfile.NamedTemporaryFile(prefix="spine_curve_", suffix=ext, delete=False) as f:
        path = Path(f.name)
    write_slice_volume(np.asarray(data["pred"]), path, dtype)
    return str(path), data["result"]


class ModelTask(BasicInferTask):
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
