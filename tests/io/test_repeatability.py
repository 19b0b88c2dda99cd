"""The repeatability record: read back only for the very weights it was measured on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monai_gamanet.io.repeatability import read_sdc, write_record


def test_the_record_holds_for_its_weights_only(tmp_path: Path) -> None:
    depth, curve = tmp_path / "depth.pt", tmp_path / "curve.pt"
    depth.write_bytes(b"depth weights")
    curve.write_bytes(b"curve weights")
    record = write_record(tmp_path / "repeatability.json", {"cobb_sdc_deg": 4.2, "backs": 30}, depth, curve)
    assert json.loads(record.read_text())["backs"] == 30
    sdc, source = read_sdc(record, depth, curve)
    assert sdc == 4.2 and str(record) in source
    curve.write_bytes(b"curve weights, retrained")  # the app's retraining replaced the model
    sdc, why = read_sdc(record, depth, curve)
    assert sdc is None and "other weights" in why
    assert read_sdc(tmp_path / "absent.json", depth, curve) == (
        None,
        f"no repeatability record ({tmp_path / 'absent.json'})",
    )
    record.write_text("{not json")
    sdc, why = read_sdc(record, depth, curve)
    assert sdc is None and "unreadable" in why
    with pytest.raises(ValueError, match="cobb_sdc_deg"):
        write_record(tmp_path / "other.json", {"backs": 3}, depth, curve)
    assert not (tmp_path / "other.json").exists()
