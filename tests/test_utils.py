"""The small shared conventions: a depth label carrying its mask, and the checks that name what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from monai_gamanet.utils import require_file, require_multiple, require_nonempty, split_depth_label


def test_split_depth_label() -> None:
    label = torch.rand(2, 2, 4, 3)
    target, mask = split_depth_label(label)
    assert torch.equal(target, label[:, :1]) and torch.equal(mask, label[:, 1:])
    one = torch.rand(2, 1, 4, 3)
    assert split_depth_label(one) == (one, None)  # no mask carried: returned as it is
    explicit = torch.ones(2, 1, 4, 3)
    target, mask = split_depth_label(label, explicit)
    assert target is label and mask is explicit  # an explicit mask wins: the label is not split


def test_require_file(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    with pytest.raises(FileNotFoundError, match=r"file not found: .*model\.pt; train the bundle first"):
        require_file(str(path), "train the bundle first")
    with pytest.raises(FileNotFoundError, match=r"model\.pt$"):
        require_file(str(path))
    with pytest.raises(FileNotFoundError):
        require_file(str(tmp_path))  # a folder is not a file
    path.write_bytes(b"weights")
    assert require_file(path) == str(path)


def test_require_nonempty_and_multiple() -> None:
    assert require_nonempty([1], "the test split") == [1]
    with pytest.raises(ValueError, match="the test split is empty: nothing to run on"):
        require_nonempty([], "the test split")
    assert require_multiple([48, 96], 24, "spatial_size") == [48, 96]
    for bad in ([48, 100], [0, 48], [-24, 48], []):
        with pytest.raises(ValueError, match=r"spatial_size must be positive multiples of 24; got \["):
            require_multiple(bad, 24, "spatial_size")
