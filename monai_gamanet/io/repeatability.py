"""The measured repeatability of a pair of trained models, kept next to the curve model it was measured on.

``benchmarks/repeatability.py`` photographs phantom backs several times each (another stance, light and camera
distance; :func:`monai_gamanet.data.synthetic.generate_sample`'s ``capture``), runs the chain on every capture and
writes the within-back spread of the major Cobb angle as ``models/repeatability.json`` of the curve bundle. The
record names the two weight files by their SHA-256, so a model retrained since (the app's retraining replaces
``model.pt``) is never judged by its predecessor's figure: :func:`read_sdc` then reports it as not measured.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from monai_gamanet.data.files import atomic_write

__all__ = ["RECORD_NAME", "file_sha256", "read_sdc", "write_record"]

RECORD_NAME = "repeatability.json"


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_record(path: str | Path, figures: dict, depth_weights: str | Path, curve_weights: str | Path) -> Path:
    """Write ``figures`` (at least ``cobb_sdc_deg``) with the two models' hashes, atomically."""
    if "cobb_sdc_deg" not in figures:
        raise ValueError("a repeatability record needs 'cobb_sdc_deg'.")
    record = {
        **figures,
        "depth_weights_sha256": file_sha256(depth_weights),
        "curve_weights_sha256": file_sha256(curve_weights),
    }
    text = json.dumps(record, indent=1)
    return atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text))


def read_sdc(path: str | Path, depth_weights: str | Path, curve_weights: str | Path) -> tuple[float | None, str]:
    """The smallest detectable change recorded at ``path`` for exactly these two weight files, and where it comes
    from; ``(None, why)`` when there is no record, it is unreadable, or it was measured on other weights."""
    path = Path(path)
    if not path.is_file():
        return None, f"no repeatability record ({path})"
    try:
        record = json.loads(path.read_text())
        sdc = float(record["cobb_sdc_deg"])
        measured_on = (record["depth_weights_sha256"], record["curve_weights_sha256"])
    except (ValueError, KeyError, TypeError) as err:
        return None, f"unreadable repeatability record {path}: {err}"
    if measured_on != (file_sha256(depth_weights), file_sha256(curve_weights)):
        return None, f"the repeatability record {path} was measured on other weights (retrained since)"
    return sdc, f"measured: {path}"
