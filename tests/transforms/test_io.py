"""Loading a sample with MONAI's readers: the contract, the photo policy and every bad input."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
import torch
from monai.transforms import Compose, SaveImage
from PIL import Image

from monai_gamanet.transforms import CheckSpatialShaped, EnsureRGB, EnsureRGBd, LoadBackSampled


@pytest.fixture(scope="module")
def sample(phantom_dir: Path, datalist: dict) -> dict:
    return {k: str(phantom_dir / v) for k, v in datalist["training"][0].items()}


def test_load_in_monai_axis_order(sample: dict) -> None:
    d = Compose([LoadBackSampled(), EnsureRGBd(), CheckSpatialShaped()])(sample)
    photo = np.asarray(Image.open(sample["image"]))
    depth = np.asarray(Image.open(sample["depth"]))
    assert tuple(d["image"].shape) == (3, 240, 480) and d["image"].dtype == torch.float32
    assert tuple(d["depth"].shape) == (1, 240, 480) and tuple(d["label"].shape) == (1, 240, 480)
    np.testing.assert_array_equal(d["image"].numpy().transpose(2, 1, 0), photo)  # (C, x, y) -> (y, x, C)
    np.testing.assert_array_equal(d["depth"][0].numpy().T, depth)


def test_written_nifti_matches_the_png_pixel_for_pixel(sample: dict, tmp_path: Path) -> None:
    """What MONAI writes for 3D Slicer overlays the photo: same pixel at the same place, nibabel and SimpleITK agree."""
    label = LoadBackSampled(keys="label")({"label": sample["label"]})["label"]
    SaveImage(output_dir=tmp_path, output_postfix="seg", separate_folder=False, print_log=False)(label)
    written = next(tmp_path.glob("*.nii.gz"))
    source = np.asarray(Image.open(sample["label"]))  # (rows, cols)
    array = np.asarray(nib.load(written).dataobj)
    np.testing.assert_array_equal(np.squeeze(array).T, source)
    np.testing.assert_array_equal(np.squeeze(sitk.GetArrayFromImage(sitk.ReadImage(str(written)))), source)


def test_rgba_drops_alpha(sample: dict, tmp_path: Path) -> None:
    rgb = np.asarray(Image.open(sample["image"]))
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 200, np.uint8)]), "RGBA").save(tmp_path / "rgba.png")
    d = Compose([LoadBackSampled(keys="image"), EnsureRGBd()])({"image": str(tmp_path / "rgba.png")})
    np.testing.assert_array_equal(d["image"].numpy().transpose(2, 1, 0), rgb)


def test_16bit_rgb_becomes_8bit(sample: dict, tmp_path: Path) -> None:
    rgb = np.asarray(Image.open(sample["image"]))
    sitk.WriteImage(sitk.GetImageFromArray(rgb.astype(np.uint16) * 257, isVector=True), str(tmp_path / "rgb16.png"))
    d = Compose([LoadBackSampled(keys="image"), EnsureRGBd()])({"image": str(tmp_path / "rgb16.png")})
    np.testing.assert_array_equal(d["image"].numpy().transpose(2, 1, 0), rgb)
    direct = EnsureRGB()(torch.from_numpy(rgb.transpose(2, 1, 0).astype(np.float32) * 257))
    np.testing.assert_allclose(direct.numpy().transpose(2, 1, 0), rgb, atol=1e-3)


@pytest.mark.parametrize("mode, suffix", [("P", ".png"), ("CMYK", ".jpg"), ("YCbCr", ".jpg")])
def test_colour_photos_in_other_modes_load_as_their_rgb(sample: dict, tmp_path: Path, mode: str, suffix: str) -> None:
    """A palette PNG once arrived as one channel of palette indices, a CMYK JPEG as four channels read as RGBA."""
    photo = Image.open(sample["image"])
    path = tmp_path / f"photo{suffix}"
    (photo.convert("P", palette=Image.Palette.ADAPTIVE) if mode == "P" else photo.convert(mode)).save(path)
    expected = np.asarray(Image.open(path).convert("RGB"))  # PIL's own conversion of what was written
    d = Compose([LoadBackSampled(keys="image"), EnsureRGBd()])({"image": str(path)})
    assert d["image"].shape[0] == 3
    np.testing.assert_array_equal(d["image"].numpy().transpose(2, 1, 0), expected)


def test_a_palette_label_keeps_its_class_indices(tmp_path: Path) -> None:
    label = Image.fromarray(np.array([[0, 1], [2, 1]], np.uint8).repeat(16, 0).repeat(16, 1), "L").convert("P")
    label.save(tmp_path / "label.png")
    loaded = LoadBackSampled(keys="label")({"label": str(tmp_path / "label.png")})["label"]
    assert loaded.shape[0] == 1 and set(np.unique(np.asarray(loaded))) == {0, 1, 2}


def test_grayscale_photo_is_refused(sample: dict, tmp_path: Path) -> None:
    Image.open(sample["image"]).convert("L").save(tmp_path / "gray.png")
    loaded = LoadBackSampled(keys="image")({"image": str(tmp_path / "gray.png")})
    with pytest.raises(ValueError, match="grayscale.*gray.png|gray.png.*RGB"):
        EnsureRGBd()(loaded)


@pytest.mark.parametrize(
    "shape, message", [((5, 8, 8), "5 channels"), ((8, 8), "channels first"), ((3, 4, 4, 4), "channels first")]
)
def test_photo_shapes_refused(shape: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EnsureRGB()(torch.zeros(shape))


def test_nan_and_negative_photo_refused() -> None:
    img = torch.full((3, 4, 4), 10.0)
    img[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        EnsureRGB()(img)
    with pytest.raises(ValueError, match="negative"):
        EnsureRGB()(torch.full((3, 4, 4), -1.0))


def test_missing_file(sample: dict, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="'depth' file not found: .*nothing.png"):
        LoadBackSampled()({**sample, "depth": str(tmp_path / "nothing.png")})


@pytest.mark.parametrize(
    "content", [b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, b"this is a text file, not an image\n", b""]
)
def test_corrupt_or_not_an_image(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="'image' file .*photo.png is not a readable image"):
        LoadBackSampled(keys="image")({"image": str(path)})


def test_photo_and_depth_of_different_sizes(sample: dict, tmp_path: Path) -> None:
    Image.open(sample["depth"]).resize((120, 240)).save(tmp_path / "small_depth.png")
    d = LoadBackSampled(keys=("image", "depth"))({"image": sample["image"], "depth": str(tmp_path / "small_depth.png")})
    with pytest.raises(ValueError, match=r"same size.*image \(240, 480\).*depth \(120, 240\)"):
        CheckSpatialShaped()(d)


def test_arrays_pass_through() -> None:
    arr = torch.zeros((3, 4, 4))
    assert LoadBackSampled(keys="image")({"image": arr})["image"] is arr
