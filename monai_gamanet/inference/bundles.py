"""Where the bundles and the Label app are; run a bundle through MONAI's own entry point, ``python -m monai.bundle
run``, in a new process, or load one of its trained networks in this one.

The bundles (``bundles/NAME``) and the MONAI Label app (``apps/spine_curve``) are found in, first to last:
``$MONAI_GAMANET_HOME`` (a folder holding ``bundles/`` and ``apps/``: e.g. a copy to train in), the source
checkout the package runs from (``pip install -e .``), and the copy ``pip install .`` puts under
``<prefix>/share/monai-gamanet`` (:func:`home`).

The demo and the paper-tables experiment both run the bundles exactly as a user would from the shell (a new
process per command, so each run starts from a clean state and its memory is returned when it ends); this is
the one place that builds and runs that command.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "APPS",
    "BUNDLES",
    "HOME_VARIABLE",
    "ModelLoadError",
    "ReloadingModel",
    "bundle_command",
    "home",
    "load_trained_network",
    "run_bundle",
    "sibling_bundle",
]

logger = logging.getLogger(__name__)

HOME_VARIABLE = "MONAI_GAMANET_HOME"
SHARE = Path("share") / "monai-gamanet"  # where setup.cfg's data_files put bundles/ and apps/ under the prefix


def home() -> Path:
    """The folder holding ``bundles/`` and ``apps/``: ``$MONAI_GAMANET_HOME``, else the source checkout, else the
    installed copy (``<prefix>/share/monai-gamanet``); the checkout's path when none exists (errors then name it).

    Raises:
        FileNotFoundError: ``$MONAI_GAMANET_HOME`` is set but has no ``bundles/`` folder.
    """
    if os.environ.get(HOME_VARIABLE):
        root = Path(os.environ[HOME_VARIABLE]).expanduser()
        if not (root / "bundles").is_dir():
            raise FileNotFoundError(f"${HOME_VARIABLE} is {root}, which has no bundles/ folder.")
        return root
    checkout = Path(__file__).resolve().parents[2]
    candidates = [checkout, Path(sysconfig.get_path("data")) / SHARE, Path(sys.prefix) / SHARE]
    return next((c for c in candidates if (c / "bundles").is_dir()), checkout)


BUNDLES = home() / "bundles"
APPS = home() / "apps"


def sibling_bundle(bundle_root: str | Path, name: str) -> str:
    """The bundle ``name`` beside ``bundle_root`` (e.g. the depth bundle a curve bundle reads), as an absolute path."""
    return str(Path(bundle_root).resolve().parent / name)


def bundle_command(bundle: str, configs: Sequence[str], overrides: Mapping[str, object]) -> list[str]:
    """The ``python -m monai.bundle run`` command line for ``configs`` of ``bundles/<bundle>/configs``.

    Override values are passed as MONAI's command line (``fire``) reads them: strings and paths as they are,
    booleans as Python's ``True`` / ``False`` (fire reads ``true`` as a string), everything else as JSON (lists,
    numbers).
    """
    folder = BUNDLES / bundle / "configs"
    files = [str(folder / c) for c in configs]
    cmd = [sys.executable, "-m", "monai.bundle", "run", "--config_file", files[0] if len(files) == 1 else str(files)]
    for key, value in overrides.items():
        text = str(value) if isinstance(value, str | Path | bool) else json.dumps(value)
        cmd += [f"--{key}", text]
    return cmd + ["--logging_file", str(folder / "logging.conf")]


def run_bundle(
    bundle: str,
    configs: Sequence[str],
    overrides: Mapping[str, object],
    log_file: Path | None = None,
    threads: int | None = None,
) -> None:
    """Run a bundle command; its output goes to the console, or is appended to ``log_file``.

    Args:
        bundle: folder name under ``bundles/``, e.g. ``"back_depth_estimation"``.
        configs: config files of the bundle, overlaid left to right.
        overrides: ``--key value`` pairs (``#`` paths allowed).
        log_file: append the run's output here instead of printing it.
        threads: CPU threads of the run (``OMP_NUM_THREADS``), e.g. 1 for two runs side by side on two cores.

    Raises:
        RuntimeError: the run failed (naming the command and, when there is one, the log file).
    """
    cmd = bundle_command(bundle, configs, overrides)
    env = {**os.environ, **({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)} if threads else {})}
    logger.info("running: %s", shlex.join(cmd))
    if log_file is None:
        result = subprocess.run(cmd, env=env)
    else:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("a") as f:
            result = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    if result.returncode:
        where = f"; see {log_file}" if log_file else ""
        raise RuntimeError(f"bundle run failed (exit {result.returncode}): {shlex.join(cmd)}{where}")


def load_trained_network(
    bundle: str,
    config: str,
    what: str,
    bundle_root: str | Path | None = None,
    overrides: Mapping[str, object] | None = None,
    device: object = None,
):
    """A bundle's trained network, built by the bundle's own config and loaded strictly from ``models/model.pt``.

    Args:
        bundle: folder name under ``bundles/``.
        config: the config file that defines ``network_def`` and what the caller reads (e.g. ``"inference.yaml"``).
        what: the model's name in the error message ("depth", "curve").
        bundle_root: the trained bundle folder (default: the repository's ``bundles/<bundle>``).
        overrides: config settings the model was trained with, when not the defaults.
        device: where to run it (default: the config's ``device``, a GPU when there is one).

    Returns:
        the config parser (for the caller's other keys), the network in eval mode on its device, the weights' path.

    Raises:
        FileNotFoundError: no trained model (the message says which bundle to train).
    """
    import torch
    from monai.bundle import ConfigParser

    root = Path(bundle_root) if bundle_root is not None else BUNDLES / bundle
    weights = root / "models" / "model.pt"
    if not weights.is_file():
        raise FileNotFoundError(
            f"no trained {what} model at {weights}: train the {bundle} bundle first (its configs/train.yaml)"
        )
    parser = ConfigParser()
    parser.read_config(str(BUNDLES / bundle / "configs" / config))
    parser.update({"bundle_root": str(root), **(overrides or {})})
    if device is not None:
        parser.update({"device": f"$torch.device('{torch.device(device)}')"})
    device = parser.get_parsed_content("device")
    network = parser.get_parsed_content("network_def").to(device)
    network.load_state_dict(torch.load(weights, map_location=device, weights_only=True), strict=True)
    return parser, network.eval(), weights


class ModelLoadError(RuntimeError):
    """A served model's weights cannot be loaded (empty, truncated, not a state dict, another network's)."""


class ReloadingModel:
    """A trained bundle's model for a server: loaded on first use per device, loaded again when its weights change.

    ``loader(bundle_root, overrides, device)`` builds the model (e.g.
    :meth:`monai_gamanet.inference.depth.DepthPredictor.from_bundle`,
    :meth:`monai_gamanet.inference.curve.CurvePredictor.from_bundle`: the bundle's own config, weights loaded
    strictly). The weights file's modification time and size are checked on every :meth:`get`: a model retrained
    and swapped in on disk (``os.replace``) serves the next request without a restart, as MONAI Label's own infer
    tasks do.

    Weights that cannot be loaded (a file empty, garbage, a legacy pickle or another network's, swapped in by hand)
    never replace a model that loaded: the last good one keeps serving, with a warning logged once per file
    version; with none loaded yet, :meth:`get` raises :class:`ModelLoadError` naming the file and the cause (a
    server answers it with 503). The file is tried again once it changes.
    """

    def __init__(self, loader, bundle_root: str | Path, overrides: Mapping[str, object] | None = None) -> None:
        self.loader, self.bundle_root, self.overrides = loader, Path(bundle_root), dict(overrides or {})
        self.weights = self.bundle_root / "models" / "model.pt"
        self._cache: dict[str, tuple[tuple[int, int], object]] = {}
        self._failed: dict[str, tuple[tuple[int, int], str]] = {}  # device -> (file version, why) that did not load
        self._lock = threading.Lock()

    def available(self) -> bool:
        return self.weights.is_file()

    def get(self, device: str):
        """The model on ``device`` ("cpu", "cuda", "cuda:1"), loaded again if the weights changed since.

        Raises:
            FileNotFoundError: the bundle has no trained model.
            ModelLoadError: the weights cannot be loaded and no earlier version of them did.
        """
        with self._lock:
            stat = self.weights.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            cached = self._cache.get(device)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            failed = self._failed.get(device)
            if failed is None or failed[0] != stamp:
                logger.info("loading %s on %s", self.weights, device)
                try:
                    self._cache[device] = (stamp, self.loader(self.bundle_root, self.overrides, device))
                    self._failed.pop(device, None)
                    return self._cache[device][1]
                except Exception as err:  # torch.load / load_state_dict raise many types for a bad file
                    why = f"{type(err).__name__}: {err}".splitlines()[0][:500]
                    failed = self._failed[device] = (stamp, why)
                    kept = "the last good version keeps serving" if cached is not None else "nothing to serve"
                    logger.warning("the weights %s cannot be loaded (%s); %s", self.weights, why, kept)
            if cached is not None:
                return cached[1]
            raise ModelLoadError(f"the served model {self.weights} cannot be loaded: {failed[1]}")
