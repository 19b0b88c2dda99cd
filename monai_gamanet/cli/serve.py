"""``make serve``: a studies folder of synthetic back photos, trained models, and the MONAI Label server for Slicer.

    python -m monai_gamanet.cli.serve [--out serve_output] [--port 8000] [--photos 40]

1. Studies: when ``--out/studies`` holds no photo yet, generates the synthetic phantom (``--photos`` backs) and
   imports it as Azure Kinect captures would be (:mod:`monai_gamanet.data.kinect`): photos at the top, depth ground
   truth as the ``depth`` label tag, no curve labels (they are what a specialist corrects in Slicer).
2. Models: the repository's trained bundles (``bundles/*/models/model.pt``, their configured settings) when both
   exist; otherwise both bundles are trained briefly into ``--out`` (GAMA-Net ``--epochs`` at ``--size``, the curve
   U-Net ``--curve-epochs`` at ``--curve-size`` on RGB + its estimated depth, Adam 1e-3 as the demo's), once: a later
   run reuses them.
3. Copies the app's code to ``--out/app`` (MONAI Label writes ``logs/`` and the trainers' ``model/`` into the app
   folder: nothing is written into the checkout), starts ``monailabel start_server`` with it on ``--host``
   (127.0.0.1 unless told otherwise) and prints the address to enter in 3D Slicer's MONAI Label module. Ctrl-C
   stops it.

:func:`start_server` / :func:`stop_server` start a server and wait until it answers, and stop it by its pid (its
whole process group: training and scoring processes too); the app's tests and the load benchmark use them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from monai_gamanet.cli.demo import BRIEF_CURVE_LEARNING_RATE
from monai_gamanet.data.datalist import PHOTO_SUFFIXES
from monai_gamanet.data.kinect import import_captures
from monai_gamanet.data.synthetic import generate_dataset
from monai_gamanet.inference.bundles import APPS, BUNDLES, run_bundle

__all__ = ["copy_app", "free_port", "main", "prepare", "server_command", "start_server", "stop_server"]

logger = logging.getLogger("monai_gamanet.cli.serve")

APP = APPS / "spine_curve"


def prepare(args: argparse.Namespace) -> dict[str, str]:
    """Steps 1-2; returns the app's ``--conf`` settings (bundle folders and the settings they were trained with)."""
    out = Path(args.out).resolve()
    studies = out / "studies"
    phantom = out / "phantom"
    if not any(p.suffix.lower() in PHOTO_SUFFIXES for p in studies.glob("*")):
        if not (phantom / "datalist.json").is_file():
            logger.info("generating %d synthetic backs -> %s", args.photos, phantom)
            generate_dataset(phantom, args.photos, seed=args.seed, workers=args.workers)
        report = import_captures(phantom, studies, curves=False)
        logger.info("studies folder %s: %d photos with depth ground truth", studies, len(report["imported"]))
    repo = {name: BUNDLES / name for name in ("back_depth_estimation", "spine_curve_segmentation")}
    if all((root / "models" / "model.pt").is_file() for root in repo.values()):
        logger.info("serving the repository's trained bundles: %s", ", ".join(map(str, repo.values())))
        return {
            "depth_bundle": str(repo["back_depth_estimation"]),
            "curve_bundle": str(repo["spine_curve_segmentation"]),
        }
    depth_root, curve_root = out / "back_depth_estimation", out / "spine_curve_segmentation"
    depth_overrides = {"spatial_size": [args.size[1], args.size[0]]}
    curve_overrides = {"spatial_size": [args.curve_size[1], args.curve_size[0]]}
    if not (depth_root / "models" / "model.pt").is_file():
        logger.info("no trained depth model: training GAMA-Net briefly (%d epochs) -> %s", args.epochs, depth_root)
        run_bundle(
            "back_depth_estimation",
            ["train.yaml"],
            {"bundle_root": depth_root, "dataset_dir": phantom, "epochs": args.epochs, **depth_overrides},
        )
    if not (curve_root / "models" / "model.pt").is_file():
        logger.info("no trained curve model: training the U-Net (%d epochs) -> %s", args.curve_epochs, curve_root)
        curve = {"bundle_root": curve_root, "dataset_dir": phantom, "epochs": args.curve_epochs, **curve_overrides}
        curve["learning_rate"] = BRIEF_CURVE_LEARNING_RATE
        curve |= {"depth_bundle_root": depth_root, "depth_overrides": depth_overrides}
        run_bundle("spine_curve_segmentation", ["train.yaml"], curve)
    return {
        "depth_bundle": str(depth_root),
        "curve_bundle": str(curve_root),
        "depth_overrides": json.dumps(depth_overrides, separators=(",", ":")),
        "curve_overrides": json.dumps(curve_overrides, separators=(",", ":")),
    }


def copy_app(out: str | Path) -> Path:
    """The app's code copied to ``out/app`` (refreshed; its ``logs/`` and ``model/`` kept): the folder to serve."""
    dest = Path(out) / "app"
    shutil.copytree(APP, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("logs", "model", "bin", "__pycache__"))
    return dest


def server_command(studies: Path, host: str, port: int, conf: dict[str, str], app: str | Path = APP) -> list[str]:
    """The ``monailabel start_server`` command line (run with this Python, so the same environment)."""
    cmd = [sys.executable, "-m", "monailabel.main", "start_server", "--app", str(app), "--studies", str(studies)]
    cmd += ["--host", host, "--port", str(port)]
    for key, value in conf.items():
        cmd += ["--conf", key, value]
    return cmd


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    cmd: list[str], url: str, log: Path, env: dict | None = None, timeout: float = 180
) -> subprocess.Popen:
    """Run ``cmd`` (a :func:`server_command`) in its own process group, output appended to ``log``; returns once
    ``url/info/`` answers 200, stopping the server first if it exits or does not answer within ``timeout``."""
    import requests

    with Path(log).open("a") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited ({proc.returncode}):\n{Path(log).read_text()[-3000:]}")
            try:
                if requests.get(f"{url}/info/", timeout=5).status_code == 200:
                    return proc
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer in {timeout:.0f} s:\n{Path(log).read_text()[-3000:]}")
            time.sleep(0.5)
    except BaseException:
        stop_server(proc)
        raise


def stop_server(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop a server by its pid: ``sig`` to its whole process group (trainers included), SIGKILL if it lingers."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monai_gamanet.cli.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="serve_output", help="studies folder, phantom and briefly trained models")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (keep 127.0.0.1 or a VPN address)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--photos", type=int, default=40, help="synthetic backs in a new studies folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="generator processes")
    parser.add_argument("--epochs", type=int, default=3, help="brief GAMA-Net training when no model exists")
    parser.add_argument("--size", type=int, nargs=2, default=(240, 120), metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--curve-epochs", type=int, default=25, help="brief curve U-Net training (Dice + CE)")
    parser.add_argument("--curve-size", type=int, nargs=2, default=(256, 128), metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--no-start", action="store_true", help="prepare, print the command, do not start")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    conf = prepare(args)
    studies = Path(args.out).resolve() / "studies"
    cmd = server_command(studies, args.host, args.port, conf, copy_app(Path(args.out).resolve()))
    address = f"http://{args.host}:{args.port}"
    print(f"\nMONAI Label server: {address}\nIn 3D Slicer: MONAI Label module -> MONAI Label server: {address}")
    print(f"command: {shlex.join(cmd)}\n")
    if args.no_start:
        return 0
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    try:
        return subprocess.run(cmd, env=env).returncode
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
