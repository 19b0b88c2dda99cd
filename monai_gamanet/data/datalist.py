"""Datalists: MONAI's ``{"training": [...], "validation": [...], "test": [...]}`` JSON with relative paths.

The paper splits its 2,213 captures 8:1:1 into training, validation and test; :func:`split_indices` does the
same, reproducibly for a seed. :func:`load_datalist` resolves the paths against the datalist's folder and
names every missing file, so a broken dataset fails before training starts, not halfway through an epoch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["SPLITS", "PHOTO_SUFFIXES", "split_indices", "load_datalist", "list_photos"]

SPLITS: tuple[str, ...] = ("training", "validation", "test")
FILE_KEYS: tuple[str, ...] = ("image", "depth", "label", "curve")
PHOTO_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg")


def split_indices(n: int, seed: int = 0, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> dict[str, list[int]]:
    """Split ``range(n)`` into training / validation / test, 8:1:1 by default.

    Validation and test each get ``round(n * ratio)`` samples, but at least one as soon as ``n >= 3``; the rest
    is training. The assignment is a seeded permutation; each split is returned in ascending order.
    """
    if n < 1:
        raise ValueError(f"cannot split {n} samples.")
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(round(n * ratios[1]), 1 if n >= 3 else 0)
    n_test = max(round(n * ratios[2]), 1 if n >= 3 else 0)
    n_train = n - n_val - n_test
    parts = (order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :])
    return {name: sorted(int(i) for i in part) for name, part in zip(SPLITS, parts, strict=True)}


def load_datalist(
    path: str | Path, splits: tuple[str, ...] = SPLITS, check_files: bool = True
) -> dict[str, list[dict]]:
    """Read a datalist and make its file paths absolute.

    Args:
        path: the datalist JSON; relative paths in it are relative to its folder.
        splits: the splits to return (missing ones come back empty).
        check_files: raise if any referenced file does not exist.

    Raises:
        FileNotFoundError: the datalist, or files it references, do not exist (all missing files are named).
        ValueError: the file is not a datalist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"datalist not found: {path}")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"datalist {path} is not valid JSON: {err}") from err
    if not isinstance(data, dict) or not any(isinstance(data.get(s), list) for s in SPLITS):
        raise ValueError(f"datalist {path} has none of the lists {SPLITS}.")
    root = path.parent
    out: dict[str, list[dict]] = {}
    missing = []
    for split in splits:
        items = []
        for item in data.get(split, []):
            entry = dict(item)
            for key in FILE_KEYS:
                if key in entry:
                    entry[key] = str((root / entry[key]).resolve())
                    if check_files and not Path(entry[key]).is_file():
                        missing.append(entry[key])
            items.append(entry)
        out[split] = items
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise FileNotFoundError(f"datalist {path} references {len(missing)} missing file(s): {shown}")
    return out


def list_photos(source: str | Path, split: str = "test") -> list[dict]:
    """The photos to run inference on: every PNG/JPEG of a folder, one photo, or one split of a datalist.

    Args:
        source: a folder of photos (top level, sorted by name), a photo file or a datalist JSON.
        split: the datalist split to take.

    Returns:
        ``[{"image": absolute path}, ...]``.

    Raises:
        FileNotFoundError: ``source`` does not exist, or holds no photo.
    """
    path = Path(source)
    if path.is_dir():
        photos = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
        items = [{"image": str(p.resolve())} for p in photos]
    elif path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES:
        items = [{"image": str(path.resolve())}]
    elif path.is_file():
        items = [{"image": e["image"]} for e in load_datalist(path, splits=(split,))[split] if "image" in e]
    else:
        raise FileNotFoundError(f"no photo folder or datalist at {path}")
    if not items:
        raise FileNotFoundError(
            f"no photo ({', '.join(PHOTO_SUFFIXES)}) in {path}" + ("" if path.is_dir() else f", split '{split}'")
        )
    return items
