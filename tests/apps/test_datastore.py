"""The app's datastore without a server: labels read from disk, writes that survive SIGKILL, an unreadable index
rebuilt at start, info updates that do not overwrite each other, photos converted to RGB."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "apps" / "spine_curve"))  # the app's `lib`
datastore_module = pytest.importorskip("lib.datastore")
SafeDatastore = datastore_module.SafeDatastore

W, H = 40, 64


def _studies(tmp_path: Path, photos: int = 3) -> Path:
    studies = tmp_path / "studies"
    studies.mkdir()
    rng = np.random.default_rng(0)
    for i in range(photos):
        Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(studies / f"case_{i}.png")
    return studies


def _curve(tmp_path: Path, column: int) -> tuple[Path, np.ndarray]:
    mask = np.zeros((H, W), np.uint8)
    mask[5:60, column : column + 3] = 1
    path = tmp_path / f"curve_{column}.png"
    Image.fromarray(mask).save(path)
    return path, mask


def test_labelled_files_come_from_disk_not_from_the_watched_index(tmp_path: Path) -> None:
    """MONAI Label's file watcher clears each photo's labels in its index while it rebuilds it: the trainers read
    what is on disk, so a rebuild under way cannot hide a saved label from a training run."""
    studies = _studies(tmp_path)
    depth = np.full((H, W), 900, np.uint16)
    for i in range(3):
        Image.fromarray(depth).save(tmp_path / f"depth_{i}.png")
    store = SafeDatastore(str(studies), auto_reload=False)
    for i in range(3):
        store.save_label(f"case_{i}", str(tmp_path / f"depth_{i}.png"), "depth", {})
    for obj in store._datastore.objects.values():  # the watcher's rebuild, caught half-way
        obj.labels.clear()
    found = store.labelled_files("depth")
    assert sorted(found) == ["case_0", "case_1", "case_2"]
    assert found["case_1"] == (str(studies / "case_1.png"), str(studies / "labels" / "depth" / "case_1.png"))
    assert store.labelled_files("final") == {}  # no such tag yet


def _save_forever(studies: str, labels: list[str]) -> None:
    """A writer that saves labels until it is killed (run in a forked process)."""
    store = SafeDatastore(studies, auto_reload=False)
    for i in range(10**9):
        info = {"label_info": [{"name": "spine", "idx": 1}], "round": i}
        store.save_label(f"case_{i % 3}", labels[i % 2], "final", info)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_sigkill_during_saves_leaves_every_file_whole_and_the_server_startable(tmp_path: Path) -> None:
    """20 writers killed with SIGKILL at random moments of a stream of label saves: every time the index reads, the
    datastore starts, and each label is one of the two versions whole (MONAI Label's own writes left an empty
    index, which blocked every start, or a truncated label)."""
    studies = _studies(tmp_path)
    (a, mask_a), (b, mask_b) = _curve(tmp_path, 10), _curve(tmp_path, 20)
    fork = multiprocessing.get_context("fork")
    rng = random.Random(0)
    saved_rounds = 0
    for _ in range(20):
        writer = fork.Process(target=_save_forever, args=(str(studies), [str(a), str(b)]))
        writer.start()
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        assert writer.exitcode == -signal.SIGKILL
        index = json.loads((studies / "datastore_v2.json").read_text())  # never empty, never half-written
        store = SafeDatastore(str(studies), auto_reload=False)
        assert sorted(store.list_images()) == ["case_0", "case_1", "case_2"]
        for label in (studies / "labels" / "final").glob("*.png"):
            stored = np.asarray(Image.open(label))
            assert np.array_equal(stored, mask_a) or np.array_equal(stored, mask_b), label
        saved_rounds += sum("final" in obj["labels"] for obj in index["objects"].values())
    assert saved_rounds > 0  # the writers did save between the kills
    assert not [p for p in studies.rglob("*.png") if p.name.startswith(".")]  # no temporary file became a study


@pytest.mark.parametrize(
    "content", ["", '{"name": "x", "obj', "[1, 2]", "\x00\x00\x00"], ids=["empty", "truncated", "list", "binary"]
)
def test_an_unreadable_index_is_rebuilt_at_start_with_what_can_be_recovered(
    tmp_path: Path, content: str, caplog
) -> None:
    studies = _studies(tmp_path)
    curve, mask = _curve(tmp_path, 10)
    store = SafeDatastore(str(studies), auto_reload=False)
    store.save_label("case_0", str(curve), "final", {"label_info": [{"name": "spine", "idx": 1}], "user": "dr_a"})
    store.save_label("case_1", str(curve), "final", {"user": "dr_b"})  # the index before this one is the backup
    index = studies / "datastore_v2.json"
    index.write_text(content)  # e.g. left by MONAI Label's own non-atomic write
    with caplog.at_level("WARNING"):
        rebuilt = SafeDatastore(str(studies), auto_reload=False)
    assert "was unreadable" in caplog.text
    assert sorted(rebuilt.list_images()) == ["case_0", "case_1", "case_2"]
    assert sorted(rebuilt.get_labeled_images("final")) == ["case_0", "case_1"]  # from the files on disk
    assert rebuilt.get_label_info("case_0", "final")["user"] == "dr_a"  # the info the backup held
    assert json.loads(index.read_text())["objects"]  # a good index written back
    assert [p.read_text() for p in studies.glob("datastore_v2.json.corrupt-*")] == [content]  # kept for a person
    assert np.array_equal(np.asarray(Image.open(studies / "labels" / "final" / "case_1.png")), mask)


def test_info_updates_of_two_processes_do_not_overwrite_each_other(tmp_path: Path) -> None:
    """The scoring process and the server each hold an index in memory: an update writes the latest index."""
    studies = _studies(tmp_path)
    curve, _ = _curve(tmp_path, 10)
    server = SafeDatastore(str(studies), auto_reload=False)
    scorer = SafeDatastore(str(studies), auto_reload=False)  # loaded before the label below was saved
    server.save_label("case_0", str(curve), "final", {"user": "dr_a"})
    scorer.update_image_info("case_2", {"curve_flip_uncertainty": 0.25})
    fresh = SafeDatastore(str(studies), auto_reload=False)
    assert fresh.get_labeled_images("final") == ["case_0"]  # the scorer did not write its stale index over it
    assert fresh.get_image_info("case_2")["curve_flip_uncertainty"] == 0.25


def test_long_or_odd_info_values_are_not_kept(tmp_path: Path) -> None:
    studies = _studies(tmp_path)
    curve, _ = _curve(tmp_path, 10)
    store = SafeDatastore(str(studies), auto_reload=False)
    info = {"note": "x" * 900_000, "user": "dr_a", "nested": {"a": 1}, **{f"k{i}": i for i in range(100)}}
    store.save_label("case_0", str(curve), "final", info)
    kept = store.get_label_info("case_0", "final")
    assert "note" not in kept and "nested" not in kept and kept["user"] == "dr_a"
    assert (studies / "datastore_v2.json").stat().st_size < 10_000


@pytest.mark.parametrize("mode", ["P", "CMYK", "RGBA"])
def test_colour_photos_in_other_modes_are_stored_as_rgb(tmp_path: Path, mode: str) -> None:
    studies = _studies(tmp_path, photos=1)
    rgb = Image.new("RGB", (W, H), (200, 120, 90))
    suffix = ".jpg" if mode == "CMYK" else ".png"
    upload = tmp_path / f"upload{suffix}"
    (rgb.convert("P", palette=Image.Palette.ADAPTIVE) if mode == "P" else rgb.convert(mode)).save(upload)
    store = SafeDatastore(str(studies), auto_reload=False)
    store.add_image("new_photo", str(upload), {})
    stored = next(studies.glob("new_photo.*"))
    with Image.open(stored) as img:
        assert img.mode == ("RGBA" if mode == "RGBA" else "RGB")
        assert np.abs(np.asarray(img.convert("RGB"), float) - (200, 120, 90)).max() <= 12  # the colours, not indices
    assert (stored.suffix == ".png") and store.get_image_info("new_photo").get("converted_from") == (
        None if mode == "RGBA" else mode
    )


def test_a_photo_slicer_saved_as_a_volume_is_stored_as_png_once(tmp_path: Path) -> None:
    """ "Upload Volume" / "Submit Label" of a photo opened in Slicer: a one-slice .nii.gz becomes the PNG photo; the
    same photo sent again changes nothing; another photo under that id, a stack or a grey volume is refused."""
    import SimpleITK as sitk

    studies = _studies(tmp_path)
    store = datastore_module.SafeDatastore(str(studies), 10**7)
    pixels = np.random.default_rng(1).integers(0, 256, (96, 48, 3), dtype=np.uint8)
    volume = tmp_path / "upload.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(pixels[None], isVector=True), str(volume))  # (W, H, 1), 3 components
    assert store.add_image("My back", str(volume), {}) == "My back"
    np.testing.assert_array_equal(np.asarray(Image.open(studies / "My back.png")), pixels)
    index = (studies / "datastore_v2.json").read_bytes()
    assert store.add_image("My back", str(volume), {}) == "My back"  # again: nothing written
    assert (studies / "datastore_v2.json").read_bytes() == index
    other = tmp_path / "other.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(pixels[None, ::-1].copy(), isVector=True), str(other))
    stack = tmp_path / "stack.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(np.stack([pixels] * 3), isVector=True), str(stack))
    grey = tmp_path / "grey.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(pixels[None, :, :, 0].copy()), str(grey))
    for path, status, words in ((other, 409, "different photo"), (stack, 400, "3 slices"), (grey, 400, "channel")):
        with pytest.raises(datastore_module.Refused) as err:
            store.add_image("My back" if path == other else "new", str(path), {})
        assert err.value.status_code == status and words in err.value.detail, err.value.detail
    assert (studies / "datastore_v2.json").read_bytes() == index and not (studies / "new.png").exists()
    with pytest.raises(datastore_module.Refused, match="invalid image id"):
        store.add_image("../My back", str(volume), {})
