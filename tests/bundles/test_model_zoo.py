"""The MONAI model zoo's own checks on our bundles: its ``ci/verify_bundle.py -m full`` (offline) and MONAI's
``ConfigWorkflow.check_properties`` for train, evaluate and inference, run by the shared tool exactly as a peer
would (``../shared/tools/model-zoo-check/check``); skipped where that tool is not beside the checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT.parent / "shared" / "tools" / "model-zoo-check" / "check"


@pytest.mark.skipif(not CHECK.is_file(), reason="the model-zoo check tool is not beside this checkout")
@pytest.mark.parametrize("bundle", ["back_depth_estimation", "spine_curve_segmentation"])
def test_the_bundle_passes_the_model_zoo_checks(bundle: str) -> None:
    result = subprocess.run(
        ["bash", str(CHECK), f"bundles/{bundle}", sys.executable],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0 and f"{bundle} PASSES" in result.stdout, result.stdout[-3000:]
    for step in ("PASS verify_bundle", "PASS train", "PASS evaluate", "PASS inference"):
        assert step in result.stdout
