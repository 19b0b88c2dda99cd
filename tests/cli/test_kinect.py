"""The Kinect import's command line: what it prints and its exit status (the import itself: tests/data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monai_gamanet.cli.kinect import main


def test_a_missing_captures_folder_is_exit_2_and_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(tmp_path / "nowhere"), "--studies", str(tmp_path / "studies")]) == 2
    assert "error:" in (err := capsys.readouterr().err) and "nowhere" in err
    assert not (tmp_path / "studies").exists()


def test_an_empty_folder_imports_nothing_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "captures").mkdir()
    assert main([str(tmp_path / "captures"), "--studies", str(tmp_path / "studies"), "--dry-run"]) == 0
    assert "would import 0 capture(s)" in capsys.readouterr().out
