"""Installed as a user installs it: ``pip install .`` (not editable) into a fresh virtual environment, then used
from outside the source tree: the bundles and the app are found in the installed copy, the console script runs the
pipeline, MONAI's bundle runner runs an installed config, and make serve's app copy comes from it.

The fresh environment borrows the test environment's installed dependencies (torch, MONAI) through a ``.pth``
file, so nothing is downloaded; monai_gamanet itself is built from a copy of the source tree (a clean tree, as an
sdist would give) and installed without network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEFT_OUT = (".git", ".venv", "runs", "build", "*.egg-info", "__pycache__", "demo_output", "serve_output", ".*_cache")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with monai_gamanet installed from a copy of the source tree; returns its python."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LEFT_OUT))
    venv = root / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    install = [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "-I"]
    # the borrowed pip installs into this venv; -I: never uninstall the test environment's own (editable) copy,
    # which the borrowed path shows it
    result = subprocess.run([*install, str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    shutil.rmtree(source)  # nothing may depend on the tree it was built from
    return python


def _run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_the_installed_package_finds_its_bundles_and_app(installed: Path, tmp_path: Path) -> None:
    venv = installed.parents[1]
    code = (
        "import json, monai_gamanet.inference.bundles as b, monai_gamanet.cli.serve as s;"
        f"print(json.dumps([b.__file__, str(b.BUNDLES), str(s.copy_app({str(tmp_path / 'served')!r}))]))"
    )
    result = _run(installed, "-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    module, bundles, app = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(module).is_relative_to(venv) and Path(bundles) == venv / "share" / "monai-gamanet" / "bundles"
    assert (Path(bundles) / "spine_curve_segmentation" / "configs" / "inference.yaml").is_file()
    assert (Path(app) / "main.py").is_file() and (Path(app) / "lib" / "trainers" / "candidate.py").is_file()


def test_the_console_script_and_the_bundle_runner_work_outside_the_checkout(
    installed: Path,
    tmp_path: Path,
    phantom_dir: Path,
    datalist: dict,
    random_depth_bundle: Path,
    random_curve_bundle: Path,
) -> None:
    curve = random_curve_bundle
    photo = phantom_dir / datalist["test"][0]["image"]
    script = installed.parent / "monai-gamanet-pipeline"
    args = [str(photo), "--out", str(tmp_path / "out"), "--depth-bundle", str(random_depth_bundle)]
    args += ["--depth-overrides", '{"spatial_size": [24, 48]}', "--curve-bundle", str(curve)]
    args += ["--curve-overrides", '{"spatial_size": [32, 64]}']
    result = subprocess.run([str(script), *args], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "out" / f"{photo.stem}_report.json").is_file()
    configs = installed.parents[1] / "share" / "monai-gamanet" / "bundles" / "back_depth_estimation" / "configs"
    run = ["-m", "monai.bundle", "run", "--config_file", str(configs / "inference.yaml")]
    run += ["--bundle_root", str(random_depth_bundle), "--input", str(photo), "--output_dir", str(tmp_path / "depth")]
    run += ["--spatial_size", "[24, 48]", "--logging_file", str(configs / "logging.conf")]
    result = _run(installed, *run, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "depth" / f"{photo.stem}_depth.png").is_file()
