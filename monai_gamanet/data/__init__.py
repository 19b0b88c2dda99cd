"""Data of monai-gamanet: the synthetic back phantom and datalist helpers (numpy and PIL only; no MONAI import)."""

from monai_gamanet.data.datalist import SPLITS, list_photos, load_datalist, split_indices
from monai_gamanet.data.dataset import prepare_dataset
from monai_gamanet.data.geometry import curve_to_band

__all__ = [
    "SPLITS",
    "list_photos",
    "load_datalist",
    "prepare_dataset",
    "split_indices",
    "curve_to_band",
]
