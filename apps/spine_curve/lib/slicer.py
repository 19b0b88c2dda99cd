"""What the app tells the MONAI Label plugin of 3D Slicer about a photo, so that Slicer loads exactly that photo.

The plugin loads the photo of "Next Sample" (``POST /activelearning/{strategy}``, answered by
:func:`lib.guard.guarded_sample`) with ``slicer.util.loadVolume(path)`` when the sample's ``path`` exists
on the Slicer machine, else downloads it with ``SampleData.downloadFromURL`` into one cache folder shared by every
download, under the sample's ``name``. Both load without ``singleFile``, so Slicer's archetype reader also loads
every file of the same numeric pattern in that folder: ``case_0003.png`` beside ``case_0000..0004`` came in as one
volume of 5 slices whose first is ``case_0000`` (measured with Slicer's own ``vtkMRMLVolumeArchetypeStorageNode``),
so the result landed on the wrong photo and "Submit Label" sent a 5-slice label.

:func:`sample_for_slicer` therefore (1) leaves out ``path`` (every photo is downloaded, on the same machine too:
the studies folder holds numbered photos side by side), (2) names the download ``<id>.<tag><suffix>``, where the tag
is letters only (the photo's SHA-256 in the letters a-p), so no two photos' names differ only in a number and none
forms a series with another file of the cache, and (3) sets ``PatientID`` to the id, which the plugin names the
volume by, and ``checksum`` (``SHA256:<hex>``), with which SampleData downloads a photo again when a cached file of
that name holds other pixels. Image ids and the studies folder are unchanged.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["download_name", "sample_for_slicer"]

TAG_LETTERS = 10  # 16^10 names per id: two photos' tags coincide with probability ~1e-12


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_name(image_id: str, photo: str | Path, sha256: str | None = None) -> str:
    """``<id>.<letters><suffix>``: a file name no other photo's name can form a numeric series with."""
    photo = Path(photo)
    digest = sha256 or _sha256(photo)
    tag = "".join(chr(ord("a") + int(c, 16)) for c in digest[:TAG_LETTERS])
    return f"{image_id}.{tag}{photo.suffix.lower()}"


def sample_for_slicer(sample: dict, photo: str | Path) -> dict:
    """MONAI Label's next-sample answer for photo ``photo`` (id ``sample["id"]``), as the Slicer plugin must see
    it: no ``path``, a series-free ``name``, ``PatientID`` (the volume's name) and ``checksum``."""
    digest = _sha256(Path(photo))
    out = {k: v for k, v in sample.items() if k != "path"}
    out |= {
        "name": download_name(sample["id"], photo, digest),
        "PatientID": sample["id"],
        "checksum": f"SHA256:{digest}",
    }
    return out
