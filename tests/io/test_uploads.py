"""Checks on user files: photos, curve labels in every format Slicer saves, depth maps, names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image

from monai_gamanet.io.uploads import (
    UploadError,
    check_depth_map,
    check_image_id,
    check_name,
    check_photo,
    photo_volume_to_png,
    read_curve_label,
)

H, W = 48, 24


def _band() -> np.ndarray:
    band = np.zeros((H, W), np.uint8)
    band[5:40, 10:13] = 1
    return band


def test_curve_labels_in_each_format_give_the_same_mask(tmp_path: Path) -> None:
    band = _band()
    png = tmp_path / "label.png"
    Image.fromarray(band * 255).save(png)  # 0/255 drawn by hand
    assert np.array_equal(read_curve_label(png, (W, H)), band)
    nii = tmp_path / "label.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray((band * 2)[None]), str(nii))  # Slicer's one-slice volume, value 2
    assert np.array_equal(read_curve_label(nii, (W, H)), band)
    seg = tmp_path / "label.seg.nrrd"  # Slicer's segmentation: the names travel in the header
    volume = sitk.GetImageFromArray(np.where(band > 0, 2, 0).astype(np.uint8) + (np.arange(W) == 0).astype(np.uint8))
    volume.SetMetaData("Segment0_Name", "skin")
    volume.SetMetaData("Segment0_LabelValue", "1")
    volume.SetMetaData("Segment1_Name", "Spine curve")
    volume.SetMetaData("Segment1_LabelValue", "2")
    sitk.WriteImage(volume, str(seg))
    assert np.array_equal(read_curve_label(seg, (W, H)), band)  # the segment named as the spine, not "skin"
    with pytest.raises(UploadError, match="none named as the spine"):
        read_curve_label(seg, (W, H), label_info=None, name="x.nrrd")  # as a plain NRRD: no names, two classes
    two = tmp_path / "two.nii.gz"
    sitk.WriteImage(sitk.ReadImage(str(seg)), str(two))
    assert np.array_equal(read_curve_label(two, (W, H), [{"name": "spine", "idx": 2}]), band)  # Slicer's label_info


def test_labels_naming_no_spine_or_holding_nan_are_refused(tmp_path: Path) -> None:
    band = _band()
    liver = tmp_path / "liver.seg.nrrd"
    volume = sitk.GetImageFromArray(band)
    volume.SetMetaData("Segment0_Name", "liver")
    volume.SetMetaData("Segment0_LabelValue", "1")
    sitk.WriteImage(volume, str(liver))
    with pytest.raises(UploadError, match="no spine curve.*'liver'"):
        read_curve_label(liver, (W, H))
    plain = tmp_path / "plain.png"
    Image.fromarray(band).save(plain)
    with pytest.raises(UploadError, match="no spine curve"):
        read_curve_label(plain, (W, H), [{"name": "liver", "idx": 1}])  # Slicer's label_info names it
    assert np.array_equal(read_curve_label(plain, (W, H)), band)  # one class, no names: the curve
    for suffix in (".nii.gz", ".nii", ".nrrd"):
        nan = tmp_path / f"nan{suffix}"
        values = band.astype(np.float32)[None]
        values[0, 0, 0] = np.nan
        sitk.WriteImage(sitk.GetImageFromArray(values), str(nan))  # ITK reads the NIfTI ones back with 0, not NaN
        with pytest.raises(UploadError, match="NaN"):
            read_curve_label(nan, (W, H))


def test_bad_labels_photos_depths_and_names_are_refused(tmp_path: Path) -> None:
    band = _band()
    png = tmp_path / "label.png"
    Image.fromarray(band).save(png)
    with pytest.raises(UploadError, match="but its photo is"):
        read_curve_label(png, (W + 1, H))
    nan = tmp_path / "nan.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(np.full((H, W), np.nan, np.float32)), str(nan))
    with pytest.raises(UploadError, match="NaN"):
        read_curve_label(nan, (W, H))
    many = tmp_path / "many.png"
    Image.fromarray(np.arange(H * W, dtype=np.uint8).reshape(H, W) % 40).save(many)
    with pytest.raises(UploadError, match="classes"):
        read_curve_label(many, (W, H))
    text = tmp_path / "label.txt"
    text.write_text("no")
    with pytest.raises(UploadError, match="not a curve label"):
        read_curve_label(text, (W, H))
    grey = tmp_path / "grey.png"
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(grey)
    with pytest.raises(UploadError, match="not an RGB photo"):
        check_photo(grey)
    assert check_photo(grey, grey_ok=True) == (64, 64)
    truncated = tmp_path / "truncated.png"
    Image.new("RGB", (64, 64), "red").save(tmp_path / "ok.png")
    truncated.write_bytes((tmp_path / "ok.png").read_bytes()[:60])
    with pytest.raises(UploadError, match="not a readable image"):
        check_photo(truncated)
    with pytest.raises(UploadError, match="over the limit"):
        check_photo(tmp_path / "ok.png", max_pixels=100)
    depth = tmp_path / "depth.png"
    Image.fromarray(np.full((H, W), 1000, np.uint16)).save(depth)
    check_depth_map(depth, (W, H))
    with pytest.raises(UploadError, match="16-bit"):
        check_depth_map(png, (W, H))
    Image.fromarray(np.zeros((H, W), np.uint16)).save(depth)
    with pytest.raises(UploadError, match="no valid pixel"):
        check_depth_map(depth, (W, H))
    for bad in ("..", "../x", "/etc/passwd", "a b", "", "x.png", "-x", None):
        with pytest.raises(UploadError):
            check_name(bad)
    assert check_name("case_0001-b") == "case_0001-b"


def test_photo_ids_take_slicer_volume_names_but_no_paths() -> None:
    """The MONAI Label plugin sends a volume's name as the id of a photo opened in Slicer: spaces and dots are
    allowed; slashes, '..', a file suffix (MONAI Label deletes it wherever it occurs in a name) are not."""
    for name in ("case_0003", "My back", "patient.2024-05", "A(1)", "x"):
        assert check_image_id(name) == name
    for name in ("../a", "a/b", "a..b", " a", "a ", "a.", "x.png", "scan.nii.gz", "", None, 3, "a" * 129):
        with pytest.raises(UploadError, match="invalid image id"):
            check_image_id(name)


def test_a_photo_volume_becomes_a_checked_png(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (64, 40, 3), dtype=np.uint8)
    volume = tmp_path / "photo.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(pixels[None], isVector=True), str(volume))
    assert photo_volume_to_png(volume, tmp_path / "photo.png") == (40, 64)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "photo.png")), pixels)
    small = tmp_path / "small.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(pixels[None, :8, :8].copy(), isVector=True), str(small))
    with pytest.raises(UploadError, match="too small"):
        photo_volume_to_png(small, tmp_path / "small.png")
    with pytest.raises(UploadError, match="over the limit"):
        photo_volume_to_png(volume, tmp_path / "big.png", max_pixels=100)
    assert not (tmp_path / "small.png").exists() and not (tmp_path / "big.png").exists()
