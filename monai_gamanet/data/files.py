"""Writing files so that an interruption never leaves a half-written one (standard library only)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_copy", "atomic_write"]

_UMASK = os.umask(0)
os.umask(_UMASK)


def _fsync(path: str | Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a directory; the rename is still atomic
        if not directory:
            raise
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[str], object], durable: bool = False) -> Path:
    """Write ``path`` through ``write(tmp_path)`` into a temporary file beside it, then rename it into place.

    A process killed at any moment leaves the old file or the new one, never part of one. ``durable`` also flushes
    the new file to disk before the rename and the folder after it, so that a power cut does not either. The
    temporary file (``.<stem>.<random><suffix>.part``: no watcher's ``*.png`` pattern matches it) is removed on any
    error. The file gets the usual permissions
    (``0o666`` less the umask), not ``mkstemp``'s private ``0o600``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f"{path.suffix}.part")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        if durable:
            _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _fsync(path.parent, directory=True)
    return path


def atomic_copy(source: str | Path, path: str | Path, durable: bool = False) -> Path:
    """Copy ``source`` to ``path`` as :func:`atomic_write` writes (never a half-copied ``path``)."""
    return atomic_write(path, lambda tmp: shutil.copyfile(source, tmp), durable)
