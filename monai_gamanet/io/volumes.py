"""2D photos and results as the one-slice volumes 3D Slicer reads and writes (NRRD, NIfTI).

3D Slicer loads a PNG photo as a volume of (width, height, 1) voxels at origin 0, spacing 1 and identity direction in
LPS. A result meant to lie on it is written here the same way, as a **one-slice 3D volume**: MONAI Label's writer
makes a 2D NRRD of a 2D result, which Slicer <= 5.10 imports, but Slicer 5.12's ``sitkUtils.PushVolumeToSlicer``
(the MONAI Label plugin's import path) builds a 3 x 3 direction from it and fails (``IndexError``); a one-slice
volume imports on every version, through the file reader and through ``PushVolumeToSlicer``.

The other way round, Slicer saves a photo it loaded (a vector volume) as a one-slice NIfTI or NRRD ("Upload
Volume", a session's image): :func:`read_photo_volume` reads such a file back into the photo's (height, width,
channels) pixels, refusing anything that is not one slice of 8-bit colour.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from monai_gamanet.data.files import atomic_copy

__all__ = ["VOLUME_SUFFIXES", "read_photo_volume", "write_slice_volume"]

VOLUME_SUFFIXES: tuple[str, ...] = (".nii.gz", ".nii", ".nrrd")


def write_slice_volume(array_wh: np.ndarray, path: str | Path, dtype: str = "uint8") -> Path:
    """Write a (W, H) array (MONAI's axis order of a photo) as a one-slice volume of (W, H, 1) voxels, atomically.

    Origin 0, spacing 1, identity direction (LPS): the voxel of pixel (column x, row y) is where Slicer places that
    pixel of the PNG photo. ``.nrrd`` is gzip-compressed; ``.nii.gz`` / ``.nii`` as named.
    """
    import SimpleITK as sitk

    path = Path(path)
    if not path.name.lower().endswith(VOLUME_SUFFIXES):
        raise ValueError(f"{path.name}: a one-slice volume is written as {', '.join(VOLUME_SUFFIXES)}.")
    array = np.asarray(array_wh)
    if array.ndim != 2:
        raise ValueError(f"expected a (W, H) array; got shape {array.shape}.")
    image = sitk.GetImageFromArray(np.ascontiguousarray(array.T.astype(dtype))[None])  # (1, H, W): size (W, H, 1)
    image.SetOrigin((0.0, 0.0, 0.0))
    image.SetSpacing((1.0, 1.0, 1.0))
    image.SetDirection((1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0))
    suffix = next(s for s in VOLUME_SUFFIXES if path.name.lower().endswith(s))
    with tempfile.TemporaryDirectory(prefix="monai_gamanet_volume_") as tmp:  # ITK picks its writer by the suffix
        written = Path(tmp) / f"slice{suffix}"
        sitk.WriteImage(image, str(written), True)
        return atomic_copy(written, path)


def read_photo_volume(path: str | Path, name: str | None = None, max_pixels: int | None = None) -> np.ndarray:
    """The (H, W, C) uint8 pixels of a photo that 3D Slicer saved as a one-slice volume (C = 3 or 4).

    Raises:
        ValueError: not readable as an image volume, more than one slice, not 8-bit, or not 3 / 4 channels (a
            grey or label volume is not a photo); the message names ``name`` (default: the file's name).
        OverflowError: more than ``max_pixels`` pixels (read from the header, before the pixels are decoded).
    """
    import SimpleITK as sitk

    shown = name or Path(path).name
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
        size = reader.GetSize()
        if max_pixels is not None and int(np.prod(size)) > max_pixels:
            raise OverflowError(f"{shown} has {int(np.prod(size)):,} pixels, over the limit of {max_pixels:,}.")
        image = reader.Execute()
    except RuntimeError as err:
        raise ValueError(f"{shown} is not a readable NIfTI / NRRD volume (corrupt or not an image).") from err
    size, channels = image.GetSize(), image.GetNumberOfComponentsPerPixel()
    if len(size) == 3 and size[2] != 1:
        raise ValueError(f"{shown} has {size[2]} slices: a photo is one slice (load photos one at a time).")
    if len(size) not in (2, 3):
        raise ValueError(f"{shown} is a {len(size)}D volume, not a photo.")
    if channels not in (3, 4) or image.GetPixelID() not in (sitk.sitkVectorUInt8, sitk.sitkUInt8):
        raise ValueError(
            f"{shown} holds {channels} channel(s) of {image.GetPixelIDTypeAsString()}: not an 8-bit colour photo."
        )
    pixels = sitk.GetArrayFromImage(image)  # (1, H, W, C) or (H, W, C)
    return np.ascontiguousarray(pixels.reshape(pixels.shape[-3:]))
