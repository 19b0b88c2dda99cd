"""3D Slicer's markups JSON schema v1.0.3 (a public file of the Slicer repository, shipped in ``tests/resources``):
every ``.mrk.json`` the project writes is validated against it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

MARKUPS_SCHEMA = Path(__file__).parent / "resources" / "markups-schema-v1.0.3.json"


def validate_markups(document: dict | str | Path) -> dict:
    """Validate a markups document (or the ``.mrk.json`` file holding one) against the schema; returns it."""
    if not isinstance(document, dict):
        document = json.loads(Path(document).read_text())
    jsonschema.validate(document, json.loads(MARKUPS_SCHEMA.read_text()))
    return document
