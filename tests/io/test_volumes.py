"""One-slice volumes: a result written where 3D Slicer places the PNG photo, and a photo Slicer saved read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from monai_gamanet.io.volumes import read_photo_volume, write_slice_volume


@pytest.mark.parametrize("suffix", [".nrrd", ".nii.gz", ".nii"])
def test_a_2d_result_is_written_as_one_slice_on_the_photo(tmp_path: Path, suffix: str) -> None:
    label = np.zeros((24, 48), np.uint8)  # (W, H): MONAI's axis order
    label[5, 10] = 1  # column 5, row 10
    path = write_slice_volume(label, tmp_path / f"label{suffix}")
    image = sitk.ReadImage(str(path))
    assert image.GetSize() == (24, 48, 1) and image.GetDimension() == 3  # Slicer 5.12 needs the 3 x 3 direction
    assert image.GetOrigin() == (0, 0, 0) and image.GetSpacing() == (1, 1, 1)
    assert image.GetDirection() == (1, 0, 0, 0, 1, 0, 0, 0, 1)
    array = sitk.GetArrayFromImage(image)
    assert array.dtype == np.uint8 and array[0, 10, 5] == 1 and array.sum() == 1
    depth = write_slice_volume(np.full((24, 48), 0.25), tmp_path / f"depth{suffix}", "float32")
    assert sitk.GetArrayFromImage(sitk.ReadImage(str(depth))).dtype == np.float32
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"label{suffix}", f"depth{suffix}"])
    with pytest.raises(ValueError, match="one-slice volume"):
        write_slice_volume(label, tmp_path / "label.png")
    with pytest.raises(ValueError, match=r"\(W, H\)"):
        write_slice_volume(label[None], tmp_path / "label.nrrd")


def test_a_photo_saved_by_slicer_reads_back_and_anything_else_is_refused(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (48, 24, 3), dtype=np.uint8)
    volume = tmp_path / "photo.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(pixels[None], isVector=True), str(volume))
    np.testing.assert_array_equal(read_photo_volume(volume), pixels)
    with pytest.raises(OverflowError, match="over the limit"):
        read_photo_volume(volume, max_pixels=100)
    (tmp_path / "junk.nrrd").write_bytes(b"NRRD0004\nnot really")
    cases = {
        "junk.nrrd": "not a readable",
        "stack.nrrd": "3 slices",
        "grey.nii.gz": "1 channel",
        "float.nii.gz": "not an 8-bit colour photo",
    }
    sitk.WriteImage(sitk.GetImageFromArray(np.stack([pixels] * 3), isVector=True), str(tmp_path / "stack.nrrd"))
    sitk.WriteImage(sitk.GetImageFromArray(pixels[None, :, :, 0].copy()), str(tmp_path / "grey.nii.gz"))
    rgb_float = sitk.GetImageFromArray(pixels[None].astype(np.float32), isVector=True)
    sitk.WriteImage(rgb_float, str(tmp_path / "float.nii.gz"))
    for name, words in cases.items():
        with pytest.raises(ValueError, match=words):
            read_photo_volume(tmp_path / name)
