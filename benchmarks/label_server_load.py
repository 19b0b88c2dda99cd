"""Load on the MONAI Label server: infer and ``/info/`` latency with 1, 4 and 8 clients, and infer throughput.

    python benchmarks/label_server_load.py [--clients 1 4 8] [--requests 24] [--photos 8] [--out DIR]

Starts the app on 127.0.0.1 (its own server, stopped by its pid at the end, failed or not) with both bundles at
their configured settings (GAMA-Net and the curve U-Net at 480 x 240; random weights: the time does not depend on
them), a studies folder of synthetic backs, and drives it with MONAI Label's own client as 3D Slicer does: each
client thread asks ``spine_curve`` for its label (``.nrrd``, what Slicer asks for), while one more thread polls
``/info/`` and ``/datastore/`` every 0.1 s as Slicer's panel does. Bounded: ``--requests`` infers per row and
``--max-seconds`` per row. Prints a markdown table (timings are measured, never asserted; name the machine).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linear between ranks; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def random_bundles(out: Path) -> dict[str, str]:
    """Both bundles' networks at their configured settings with random weights (seed 0): the app's conf."""
    import torch
    from monai.bundle import ConfigParser

    conf = {}
    for name, config, key in [
        ("back_depth_estimation", "inference.yaml", "depth_bundle"),
        ("spine_curve_segmentation", "train.yaml", "curve_bundle"),
    ]:
        parser = ConfigParser()
        parser.read_config(str(ROOT / "bundles" / name / "configs" / config))
        torch.manual_seed(0)
        weights = out / name / "models" / "model.pt"
        weights.parent.mkdir(parents=True, exist_ok=True)
        torch.save(parser.get_parsed_content("network_def").state_dict(), weights)
        conf[key] = str(out / name)
    return conf


def run_row(url: str, image_ids: list[str], clients: int, requests_total: int, max_seconds: float, tmp: Path) -> dict:
    """``requests_total`` infers shared by ``clients`` threads, ``/info/`` and ``/datastore/`` polled meanwhile."""
    import requests
    from monailabel.client import MONAILabelClient

    infer_s: list[float] = []
    info_s: list[float] = []
    datastore_s: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    done = threading.Event()
    counter = iter(range(requests_total))
    deadline = time.monotonic() + max_seconds

    def client_loop(k: int) -> None:
        client = MONAILabelClient(url, tmpdir=str(tmp / f"client_{k}"))
        while not done.is_set() and time.monotonic() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            start = time.perf_counter()
            try:
                label, _ = client.infer("spine_curve", image_ids[i % len(image_ids)], {"result_extension": ".nrrd"})
                os.unlink(label)
                with lock:
                    infer_s.append(time.perf_counter() - start)
            except Exception as err:  # noqa: BLE001 (counted and shown: a failure is a result here)
                with lock:
                    failures.append(str(err)[:200])

    def poll() -> None:
        while not done.is_set():
            for route, bucket in (("/info/", info_s), ("/datastore/", datastore_s)):
                start = time.perf_counter()
                try:
                    ok = requests.get(url + route, timeout=60).status_code == 200
                except requests.RequestException:
                    ok = False
                elapsed = time.perf_counter() - start
                with lock:
                    (bucket if ok else failures).append(elapsed if ok else f"{route} failed")
            time.sleep(0.1)

    poller = threading.Thread(target=poll, daemon=True)
    threads = [threading.Thread(target=client_loop, args=(k,), daemon=True) for k in range(clients)]
    start = time.perf_counter()
    poller.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    done.set()
    poller.join()
    return {
        "clients": clients,
        "infers": len(infer_s),
        "failures": len(failures),
        "infer_p50": percentile(infer_s, 50),
        "infer_p95": percentile(infer_s, 95),
        "info_p50": percentile(info_s, 50),
        "info_p95": percentile(info_s, 95),
        "datastore_p95": percentile(datastore_s, 95),
        "throughput": len(infer_s) / wall if wall > 0 else float("nan"),
        "first_failure": failures[0] if failures else "",
    }


def table(rows: list[dict]) -> str:
    """The markdown table of :func:`run_row` results (throughput also relative to one client's)."""
    one = next((r["throughput"] for r in rows if r["clients"] == 1), None)
    lines = [
        "| clients | infers | failures | infer p50 (s) | infer p95 (s) | /info/ p50 (s) | /info/ p95 (s) "
        "| /datastore/ p95 (s) | infers/s | of 1 client's |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        relative = f"{100 * r['throughput'] / one:.0f} %" if one else "-"
        lines.append(
            f"| {r['clients']} | {r['infers']} | {r['failures']} | {r['infer_p50']:.2f} | {r['infer_p95']:.2f} "
            f"| {r['info_p50']:.3f} | {r['info_p95']:.3f} | {r['datastore_p95']:.3f} | {r['throughput']:.2f} "
            f"| {relative} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--requests", type=int, default=24, help="infers per row")
    parser.add_argument("--max-seconds", type=float, default=300, help="per row")
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument(
        "--size",
        type=int,
        nargs=2,
        default=None,
        metavar=("HEIGHT", "WIDTH"),
        help="both bundles' spatial_size (default: as configured, 480 x 240)",
    )
    parser.add_argument("--infer-workers", type=int, default=1, help="the app's --conf infer_workers")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--out", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--output", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)

    from monai_gamanet.cli import serve
    from monai_gamanet.data.synthetic import generate_dataset

    with tempfile.TemporaryDirectory(prefix="label_load_") as default_out:
        out = (args.out or Path(default_out)).resolve()
        phantom, studies = out / "phantom", out / "studies"
        if not (phantom / "datalist.json").is_file():
            generate_dataset(phantom, args.photos, seed=0, workers=1)
        studies.mkdir(parents=True, exist_ok=True)
        for photo in sorted((phantom / "images").glob("*.png")):
            target = studies / photo.name
            if not target.exists():
                target.write_bytes(photo.read_bytes())
        conf = random_bundles(out) | {"device": args.device, "infer_workers": str(args.infer_workers)}
        if args.size is not None:
            size = f'{{"spatial_size":[{args.size[0]},{args.size[1]}]}}'
            conf |= {"depth_overrides": size, "curve_overrides": size}
        port = serve.free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "MONAI_LABEL_AUTO_UPDATE_SCORING": "false"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        cmd = serve.server_command(studies, "127.0.0.1", port, conf, serve.copy_app(out))
        proc = serve.start_server(cmd, url, out / "server.log", env)
        try:
            image_ids = sorted(p.stem for p in studies.glob("*.png"))
            run_row(url, image_ids, 1, 2, args.max_seconds, out)  # warm-up: models loaded, caches filled
            rows = []
            for clients in args.clients:
                rows.append(row := run_row(url, image_ids, clients, args.requests, args.max_seconds, out))
                print(f"{clients} client(s): {row['infers']} infers, p50 {row['infer_p50']:.2f} s", flush=True)
                if row["failures"]:
                    print(f"  {row['failures']} failed; the first: {row['first_failure']}", flush=True)
        finally:
            serve.stop_server(proc)
    text = table(rows)
    print(text)
    if args.output is not None:
        args.output.write_text(text + "\n")
    return 0 if all(r["infers"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
