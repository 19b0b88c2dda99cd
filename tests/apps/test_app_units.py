"""Unit checks of the app's pieces without a server: trainer progress and swap rule, validation split, device choice."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(
    0, str(Path(__file__).resolve().parents[2] / "apps" / "spine_curve")
)  # the app's `lib`, as MONAI Label does
candidate = pytest.importorskip("lib.trainers.candidate")
checks = pytest.importorskip("lib.checks")
errors = pytest.importorskip("lib.errors")

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
    assert checks.choose_device("cpu", "cuda", True) == "cpu"  # the conf forces the CPU
    assert checks.choose_device("cuda", "cpu", True) == "cuda"  # ... or the GPU
    with pytest.raises(errors.Refused, match="none is available"):
        checks.choose_device("cuda", None, False)
    assert checks.choose_device("auto", None, True) == "cuda" and checks.choose_device("auto", None, False) == "cpu"
    assert checks.choose_device("auto", "cpu", True) == "cpu" and checks.choose_device("auto", "cuda", False) == "cpu"


def test_client_json_names_and_info_are_checked_before_anything_is_written() -> None:
    assert checks.parse_object("") == {} and checks.parse_object('{"a": [1, {"b": 2}]}') == {"a": [1, {"b": 2}]}
    for text, message in [("[1]", "not list"), ("null", "not null"), ("{bad", "not valid JSON")]:
        with pytest.raises(errors.Refused, match=message):
            checks.parse_object(text)
    for text in ("[" * 100_000 + "]" * 100_000, '{"a":' * 20 + "1" + "}" * 20):
        with pytest.raises(errors.Refused, match="nested too deeply"):
            checks.parse_object(text)
    assert checks.upload_name("../x/photo.PNG", "p.png", (".png",), "photo") == ("photo.PNG", ".png")
    for name, status in [("a\x00b.png", 400), ("a." * 150 + "png", 400), ("photo.gif", 415)]:
        with pytest.raises(errors.Refused) as refused:
            checks.upload_name(name, "p.png", (".png",), "photo")
        assert refused.value.status_code == status
    assert checks.client_info('{"note": "seen"}', "dr_a") == {"note": "seen", "user": "dr_a"}
    for key in ("curve_flip_uncertainty", "curve_flip_uncertainty_ts", "ts", "strategy", "epistemic_entropy"):
        with pytest.raises(errors.Refused, match="server writes"):
            checks.client_info(f'{{"{key}": 1}}', None)
    with pytest.raises(errors.Refused, match="too long"):
        checks.client_info(f'{{"note": "{"x" * 2000}"}}', None)


def test_a_model_that_cannot_load_is_a_503_naming_the_cause(tmp_path: Path) -> None:
    from monai_gamanet.inference.bundles import ModelLoadError

    infers = pytest.importorskip("lib.infers.back_depth")

    class Broken:
        weights = tmp_path / "models" / "model.pt"

        def get(self, device):
            raise ModelLoadError(f"the served model {self.weights} cannot be loaded: UnpicklingError: junk")

    task = infers.BackDepth.__new__(infers.BackDepth)
    task.model = Broken()
    with pytest.raises(errors.Refused) as refused:
        task.loaded("cpu")
    assert refused.value.status_code == 503 and "UnpicklingError" in refused.value.detail


def test_a_killed_training_request_is_continued_by_the_same_request_only(tmp_path: Path) -> None:
    label = tmp_path / "label.png"
    label.write_bytes(b"curve v1")
    split = {"training": [{"image": "/studies/case_0.png", "label": str(label)}], "validation": []}
    key = f"{candidate.fingerprint(split)} 3 0"
    trainer = candidate.CandidateTrainer.__new__(candidate.CandidateTrainer)
    trainer.work_dir = tmp_path / "work"
    run = trainer.work_dir / "run_20261201_120000"
    (run / "candidate" / "models").mkdir(parents=True)
    (run / "request").write_text(key)
    assert trainer.unfinished_run(key) is None  # killed before its first checkpoint: nothing to continue
    (run / "candidate" / "models" / "last.pt").write_bytes(b"checkpoint")
    assert trainer.unfinished_run(key) == run
    assert trainer.unfinished_run(key.replace(" 3 ", " 4 ")) is None  # other epochs: a new run
    label.write_bytes(b"curve v2")  # a label corrected since: a new run
    assert trainer.unfinished_run(f"{candidate.fingerprint(split)} 3 0") is None
    (run / "finished").touch()
    assert trainer.unfinished_run(key) is None  # finished (or failed): never continued


def test_stats_of_a_starting_run_never_show_the_last_runs_time(tmp_path: Path) -> None:
    """Slicer's progress bar reads a ``total_time`` as "finished": a new run showed the last run's stats (1 %)."""
    import json

    trainer = candidate.CandidateTrainer.__new__(candidate.CandidateTrainer)
    trainer.work_dir = tmp_path
    (tmp_path / "train_stats.json").write_text(json.dumps({"epoch": 1, "total_epochs": 1, "total_time": "9s"}))
    assert trainer.stats()["total_time"] == "9s"  # nothing running: the last run's
    run = tmp_path / "run_20261202_010000"
    run.mkdir()
    (run / "request").write_text("digest 3 0")
    assert trainer.stats() == {"epoch": 0, "total_epochs": 3, "status": "training", "run": str(run)}
    (run / "train.log").write_text(LOG)
    assert trainer.stats()["epoch"] == 2 and "total_time" not in trainer.stats()
    (run / "finished").touch()
    assert trainer.stats()["total_time"] == "9s"


def test_slicer_gets_series_free_names_and_no_local_path(tmp_path: Path) -> None:
    """Next Sample's answer: no ``path`` (the studies folder holds numbered photos side by side), a download name
    with no digits but the id's, unique per photo, the id as the volume's name, the photo's SHA-256."""
    import hashlib

    slicer_names = pytest.importorskip("lib.slicer")
    names = []
    for i in range(5):
        photo = tmp_path / f"case_{i:04d}.png"
        photo.write_bytes(bytes([i]) * 100)
        sample = {"id": photo.stem, "path": str(photo), "name": photo.name, "weight": 1}
        answer = slicer_names.sample_for_slicer(sample, photo)
        assert "path" not in answer and answer["weight"] == 1 and answer["PatientID"] == photo.stem
        assert answer["checksum"] == "SHA256:" + hashlib.sha256(photo.read_bytes()).hexdigest()
        name = answer["name"]
        assert name.startswith(f"{photo.stem}.") and name.endswith(".png")
        tag = name[len(photo.stem) + 1 : -len(".png")]
        assert tag.isalpha() and tag.islower() and len(tag) == slicer_names.TAG_LETTERS  # no digit to number by
        names.append(name)
    assert len(set(names)) == 5
    assert slicer_names.download_name("case_0000", tmp_path / "case_0000.png") == names[0]  # stable per photo
