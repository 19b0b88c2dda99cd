"""Atomic writes: the old file or the new one, never part of one, no temporary file left."""

from __future__ import annotations

from pathlib import Path

import pytest

from monai_gamanet.data.files import atomic_copy, atomic_write


@pytest.mark.parametrize("durable", [False, True])
def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path: Path, durable: bool) -> None:
    path = tmp_path / "index.json"
    atomic_write(path, lambda tmp: Path(tmp).write_text("old"), durable)
    assert path.read_text() == "old" and oct(path.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode

    def half(tmp: str) -> None:
        Path(tmp).write_text("ne")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, half, durable)
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["index.json"]


def test_atomic_copy_and_temporary_names_no_watcher_takes_for_a_photo(tmp_path: Path) -> None:
    source = tmp_path / "source.png"
    source.write_bytes(b"photo")
    seen = []
    atomic_write(tmp_path / "photo.png", lambda tmp: seen.append(Path(tmp).name) or Path(tmp).write_bytes(b"x"))
    assert seen[0].startswith(".photo.") and seen[0].endswith(".png.part")  # not *.png
    atomic_copy(source, tmp_path / "sub" / "copy.png", durable=True)
    assert (tmp_path / "sub" / "copy.png").read_bytes() == b"photo"
