"""Unit checks of the app's pieces without a server: trainer progress and swap rule, validation split, device choice."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(
    0, str(Path(__file__).resolve().parents[2] / "apps" / "spine_curve")
)  # the app's `lib`, as MONAI Label does
candidate = pytest.importorskip("lib.trainers.candidate")
guard = pytest.importorskip("lib.guard")

LOG = """2026-11-25 17:46:15,774 - INFO - Epoch: 1/3, Iter: 1/2 -- train_loss: 0.9567
2026-11-25 17:46:37,713 - ignite.engine.engine.SupervisedEvaluator - INFO - Got new best metric of val_dice: 0.0317
2026-11-25 17:46:40,000 - INFO - Epoch: 2/3, Iter: 2/2 -- train_loss: 0.8123
"""


def test_progress_from_the_log_and_the_swap_rule(tmp_path: Path) -> None:
    assert candidate.progress(LOG) == {"epoch": 2, "total_epochs": 3, "loss": 0.8123, "best_metric": 0.0317}
    assert candidate.progress("nothing yet") == {}
    served, new = tmp_path / "model.pt", tmp_path / "candidate.pt"
    served.write_bytes(b"old")
    new.write_bytes(b"new")
    assert not candidate.swap_if_better(new, served, 0.5, 0.5) and served.read_bytes() == b"old"  # equal: kept
    assert candidate.swap_if_better(new, served, 0.6, 0.5) and served.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["candidate.pt", "model.pt"]  # no temporary file left
    split = candidate.split_entries({f"case_{i}": {"i": i} for i in range(20)}, "labels")
    assert len(split["validation"]) >= 1 and len(split["training"]) + len(split["validation"]) == 20
    assert split["test"] == split["validation"]
    with pytest.raises(RuntimeError, match="at least 2"):
        candidate.split_entries({"case_0": {}}, "a 'final' curve label")


def test_device_follows_the_conf_then_the_client_then_the_machine() -> None:
    assert guard.choose_device("cpu", "cuda", True) == "cpu"  # the conf forces the CPU
    assert guard.choose_device("cuda", "cpu", True) == "cuda"  # ... or the GPU
    with pytest.raises(guard.Refused, match="none is available"):
        guard.choose_device("cuda", None, False)
    assert guard.choose_device("auto", None, True) == "cuda" and guard.choose_device("auto", None, False) == "cpu"
    assert guard.choose_device("auto", "cpu", True) == "cpu" and guard.choose_device("auto", "cuda", False) == "cpu"


def test_labelled_files_come_from_disk_not_from_the_watched_index(tmp_path: Path) -> None:
    """MONAI Label's file watcher clears each photo's labels in its index while it rebuilds it: the trainers read
    what is on disk, so a rebuild under way cannot hide a saved label from a training run."""
    import numpy as np
    from PIL import Image

    datastore_module = pytest.importorskip("lib.datastore")
    studies = tmp_path / "studies"
    studies.mkdir()
    depth = np.full((8, 6), 900, np.uint16)
    for i in range(3):
        Image.fromarray(np.full((8, 6, 3), 120, np.uint8)).save(studies / f"case_{i}.png")
        Image.fromarray(depth).save(tmp_path / f"depth_{i}.png")
    store = datastore_module.SafeDatastore(str(studies), auto_reload=False)
    for i in range(3):
        store.save_label(f"case_{i}", str(tmp_path / f"depth_{i}.png"), "depth", {})
    for obj in store._datastore.objects.values():  # the watcher's rebuild, caught half-way
        obj.labels.clear()
    found = store.labelled_files("depth")
    assert sorted(found) == ["case_0", "case_1", "case_2"]
    assert found["case_1"] == (str(studies / "case_1.png"), str(studies / "labels" / "depth" / "case_1.png"))
    assert store.labelled_files("final") == {}  # no such tag yet
