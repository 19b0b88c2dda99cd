"""Find, or generate, the dataset a bundle trains on."""

from __future__ import annotations

import logging
from pathlib import Path

from monai_gamanet.data.datalist import load_datalist
from monai_gamanet.data.synthetic import generate_dataset

__all__ = ["prepare_dataset"]

logger = logging.getLogger(__name__)


def prepare_dataset(
    dataset_dir: str | Path,
    datalist: str = "datalist.json",
    phantom_dir: str | Path | None = None,
    n: int = 200,
    seed: int = 0,
    height: int = 480,
    width: int = 240,
) -> dict[str, list[dict]]:
    """Return the dataset's splits with absolute paths, generating the synthetic phantom first where allowed.

    Args:
        dataset_dir: folder holding ``datalist`` and the files it names.
        datalist: datalist file name inside ``dataset_dir``.
        phantom_dir: the bundle's own phantom folder. When ``dataset_dir`` is this folder and does not exist, the
            phantom is generated there (``n`` samples, ``seed``, ``height`` x ``width``); any other missing folder
            is an error, so that a mistyped path to real data fails instead of filling up with phantoms.
        n: phantom samples.
        seed: phantom seed.
        height: phantom photo height.
        width: phantom photo width.

    Raises:
        FileNotFoundError: the folder or its datalist is missing (and may not be generated), or files are missing.
    """
    root = Path(dataset_dir)
    path = root / datalist
    is_phantom = phantom_dir is not None and root.resolve() == Path(phantom_dir).resolve()
    if not root.exists() and is_phantom:
        logger.info("dataset folder %s is missing: generating %d phantom samples (seed %d) there", root, n, seed)
        generate_dataset(root, n, seed=seed, height=height, width=width, workers=2)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root}")
    if not path.is_file():
        raise FileNotFoundError(
            f"no {datalist} in {root}: a dataset folder needs a MONAI datalist with 'training', 'validation' and "
            "'test' lists (see the bundle's docs/README.md)"
        )
    return load_datalist(path)
