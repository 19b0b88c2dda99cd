"""Speed and size of the depth networks: prints (and optionally writes) a markdown table, then checks the goals.

    .venv/bin/python benchmarks/depth_networks.py [--device cpu|cuda] [--output benchmarks/results.md]

Rows: every registered depth network (GAMA-Net, its Table 1 ablations, FDE, FDSI, a plain MONAI U-Net), GAMA-Net
without channels-last, under bf16 autocast (where the device computes bf16 natively: the bundles' default) and
through ONNX Runtime, and the speed reference Depth Anything V2-Small (transformers'
``DepthAnythingForDepthEstimation`` built from a config with random weights: ViT-S/14, 4 stages, fusion 64, neck
48/96/192/384; nothing is downloaded) at 476 x 238, the nearest multiple of its 14-pixel patches.

Columns: parameters; GFLOPs of one forward pass (``torch.utils.flop_counter``: 2 per multiply-add, convolutions,
matrix products and attention); latency at batch 1 (median of ``--repeats`` runs after warm-up, inference mode);
throughput at batch 16; one Adam training step at batch 16 with :class:`~monai_gamanet.losses.DepthLoss` (median
of 2 after a warm-up) and its peak memory, each network in a fresh process (CPU: the process's peak resident
memory, runtime included; CUDA: peak allocated memory); achieved GFLOP/s at batch 1 and that as a fraction of a
large fp32 matrix product on the same device.

On a GPU (``--device cuda``) the run adds the training efficiency table, each line in a fresh process: GAMA-Net's
training step under bf16 autocast (as the bundle trains there) at batch 16 and 64, and at batch 16 compiled by
``torch.compile`` (``--compile``): images/s, peak memory, the step's model FLOP/s (forward and backward counted by
``torch.utils.flop_counter``) as a fraction of a large bf16 matrix product measured in the same run, the share of
the step the GPU spends in kernels (``torch.profiler``; the rest is launch and Python overhead), the number of
kernels per step and the ops that take most of the kernel time.

Goals checked for the default GAMA-Net in the same run: batch-1 latency at most 0.5 x Depth Anything
V2-Small's, measured for the goal by alternating the two networks run by run (``3 x --repeats`` pairs), so that a
change in the machine's speed between the table's rows (common on shared VMs) cannot decide it; a batch-16
training step within 8 GB.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch

from monai_gamanet.engines import bf16_supported
from monai_gamanet.losses import DepthLoss
from monai_gamanet.networks import create_depth_network, list_depth_networks

REFERENCE = "depth-anything-v2-small"
GAMANET_NCHW = "gamanet (channels-first)"
GAMANET_ORT = "gamanet (onnxruntime)"
BF16 = " (bf16 autocast)"
GAMANET_BF16 = "gamanet" + BF16


class Bf16Autocast(torch.nn.Module):
    """Run a network under bf16 autocast on its input's device, as the bundles' AutocastInferer does."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16):
            return self.net(x).float()


def depth_anything_v2_small() -> torch.nn.Module:
    """Depth Anything V2-Small's architecture with random weights, returning (B, 1, H, W) like our networks."""
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

    backbone = Dinov2Config(
        image_size=518,
        patch_size=14,
        hidden_size=384,
        num_hidden_layers=12,
        num_attention_heads=6,
        mlp_ratio=4,
        out_features=["stage3", "stage6", "stage9", "stage12"],
        reshape_hidden_states=False,
    )
    config = DepthAnythingConfig(
        backbone_config=backbone, fusion_hidden_size=64, neck_hidden_sizes=[48, 96, 192, 384], head_hidden_size=32
    )

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = DepthAnythingForDepthEstimation(config)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(pixel_values=x).predicted_depth.unsqueeze(1).sigmoid()

    return Wrapped()


def build(name: str) -> torch.nn.Module:
    if name.endswith(BF16):
        return Bf16Autocast(build(name.removesuffix(BF16)))
    if name == REFERENCE:
        return depth_anything_v2_small()
    if name == GAMANET_NCHW:
        return create_depth_network("gamanet", channels_last=False)
    return create_depth_network(name)


def input_size(name: str, size: tuple[int, int]) -> tuple[int, int]:
    """(W, H) in MONAI's order for our networks; Depth Anything takes (H, W) rounded down to multiples of 14."""
    height, width = size
    if name.removesuffix(BF16) == REFERENCE:
        return (height // 14) * 14, (width // 14) * 14
    return width, height


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def median_seconds(fn: Callable[[], object], repeats: int, device: torch.device, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_latency_ratio(
    a: torch.nn.Module, xa: torch.Tensor, b: torch.nn.Module, xb: torch.Tensor, pairs: int, device: torch.device
) -> float:
    """Median batch-1 latency of ``a`` over that of ``b``, the two run alternately (3 warm-up pairs)."""
    times: tuple[list[float], list[float]] = ([], [])
    with torch.inference_mode():
        for i in range(pairs + 3):
            for model, x, store in ((a, xa, times[0]), (b, xb, times[1])):
                start = time.perf_counter()
                model(x)
                sync(device)
                if i >= 3:
                    store.append(time.perf_counter() - start)
    return statistics.median(times[0]) / statistics.median(times[1])


def count_flops(model: torch.nn.Module, x: torch.Tensor) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x)
    return float(counter.get_total_flops())


def matmul_gflops(device: torch.device, n: int = 2048, dtype: torch.dtype = torch.float32) -> float:
    """GFLOP/s of an ``n`` x ``n`` x ``n`` matrix product on random data (median of 10 after 3 warm-ups)."""
    a, b = torch.rand(n, n, device=device, dtype=dtype), torch.rand(n, n, device=device, dtype=dtype)
    return 2 * n**3 / median_seconds(lambda: a @ b, 10, device) / 1e9


def onnx_latency(model: torch.nn.Module, x: torch.Tensor, repeats: int) -> float | None:
    """Batch-1 latency of the network exported to ONNX and run by ONNX Runtime on the CPU (None if unavailable)."""
    try:
        import tempfile

        import onnxruntime as ort
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/model.onnx"
        torch.onnx.export(model.cpu().eval(), (x.cpu(),), path, input_names=["image"], dynamo=True, verbose=False)
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        feed = {"image": x.cpu().numpy()}
        return median_seconds(lambda: session.run(None, feed), repeats, torch.device("cpu"))


def train_step_worker(
    name: str, size: tuple[int, int], batch: int, device: str, compiled: bool = False, detail: bool = False
) -> dict:
    """One network's training step, run in a fresh process so that its peak memory is its own.

    With ``detail`` (GPU), also the step's FLOPs and what the GPU does during it (:func:`kernel_profile`);
    ``compiled`` runs the network through ``torch.compile``.
    """
    dev = torch.device(device)
    model = build(name).to(dev).train()
    x = torch.rand(batch, 3, *input_size(name, size), device=dev)
    target, mask = torch.rand(batch, 1, *x.shape[2:], device=dev), torch.ones(batch, 1, *x.shape[2:], device=dev)
    loss_fn, optimizer = DepthLoss(), torch.optim.Adam(model.parameters(), lr=1e-4)
    forward = torch.compile(model) if compiled else model

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(forward(x), target, mask).backward()
        optimizer.step()

    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    step()  # compiles, when compiled
    sync(dev)
    first = time.perf_counter() - start
    repeats = 20 if dev.type == "cuda" else 2
    seconds = median_seconds(step, repeats, dev, warmup=2 if dev.type == "cuda" else 0)
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    row = {"train_step_s": seconds, "train_peak_gb": peak / 1e9, "first_step_s": first}
    if detail:
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter:
            loss_fn(model(x), target, mask).backward()  # eager: the counter does not see inside compiled graphs
        optimizer.zero_grad(set_to_none=True)
        row["train_flops"] = float(counter.get_total_flops())
        try:
            row.update(kernel_profile(step, dev, seconds))
        except Exception as e:  # the profiler is a diagnostic: its failure must not lose the timings
            row.update(kernel_share=float("nan"), kernels_per_step=float("nan"), top_ops=[f"profiler failed: {e}"])
    return row


def kernel_profile(step: Callable[[], None], device: torch.device, step_seconds: float) -> dict:
    """Where a step's time goes on the GPU: kernel time over step time, kernels per step, the costliest ops.

    A kernel share well below 1 means the GPU waits for the host (Python, launches, synchronisation); near 1, the
    kernels themselves are the limit.
    """
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    steps = 3
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            step()
        sync(device)
    kernels = [e for e in prof.events() if e.device_type == DeviceType.CUDA]
    busy = sum(e.device_time for e in kernels) / 1e6 / steps  # device_time is in microseconds
    ops = sorted(prof.key_averages(), key=lambda e: e.self_device_time_total, reverse=True)
    total = sum(e.self_device_time_total for e in ops) or 1.0
    top = [f"{e.key[:40]} {e.self_device_time_total / total:.0%}" for e in ops[:5]]
    return {"kernel_share": busy / step_seconds, "kernels_per_step": len(kernels) / steps, "top_ops": top}


def measure(name: str, args: argparse.Namespace, device: torch.device) -> dict:
    model = build(name).to(device).eval()
    one = torch.rand(1, 3, *input_size(name, args.size), device=device)
    many = torch.rand(args.batch, 3, *input_size(name, args.size), device=device)
    row = {"params_m": sum(p.numel() for p in model.parameters()) / 1e6, "gflops": count_flops(model, one) / 1e9}
    with torch.inference_mode():
        row["latency_ms"] = 1000 * median_seconds(lambda: model(one), args.repeats, device)
        row["throughput"] = args.batch / median_seconds(lambda: model(many), max(3, args.repeats // 3), device, 1)
    if not args.skip_train:
        cmd = [sys.executable, __file__, "--train-worker", name, "--size", *map(str, args.size)]
        cmd += ["--batch", str(args.batch), "--device", device.type]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        row.update(json.loads(out))
    return row


def table(rows: dict[str, dict], matmul: float, batch: int) -> str:
    head = (
        f"| network | params (M) | GFLOPs | latency b1 (ms) | throughput b{batch} (img/s) | train step b{batch} (s) "
        "| train peak (GB) | achieved GFLOP/s | of matmul |\n|---|---|---|---|---|---|---|---|---|\n"
    )

    def cell(r: dict, key: str, fmt: str) -> str:
        return format(r[key], fmt) if r.get(key) is not None else "-"

    lines = []
    for name, r in rows.items():
        achieved = r["gflops"] / (r["latency_ms"] / 1000) if r.get("gflops") else None
        share = format(achieved / matmul, ".0%") if achieved else "-"
        lines.append(
            f"| {name} | {cell(r, 'params_m', '.2f')} | {cell(r, 'gflops', '.1f')} | {r['latency_ms']:.0f} "
            f"| {cell(r, 'throughput', '.1f')} | {cell(r, 'train_step_s', '.3g')} | {cell(r, 'train_peak_gb', '.2f')} "
            f"| {format(achieved, '.0f') if achieved else '-'} | {share} |"
        )
    return head + "\n".join(lines)


EFFICIENCY = (("batch 16", 16, False), ("batch 64", 64, False), ("batch 16, torch.compile", 16, True))


def training_efficiency(args: argparse.Namespace, device: torch.device) -> str:
    """GAMA-Net's bf16 training step on a GPU against a large bf16 matrix product (see the module docstring)."""
    peak = matmul_gflops(device, 8192, torch.bfloat16) / 1e3
    lines = [
        f"Training efficiency, GAMA-Net under bf16 autocast, {args.size[0]} x {args.size[1]}; bf16 matmul reference "
        f"(8192^3, random data): {peak:.0f} TFLOP/s.",
        "",
        "| training step | images/s | step (ms) | first step (s) | peak (GB) | model TFLOP/s | of bf16 matmul "
        "| GPU busy in kernels | kernels/step | costliest ops (share of kernel time) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, batch, compiled in EFFICIENCY:
        if compiled and not args.compile:
            continue
        print(f"measuring training efficiency, {label} ...", file=sys.stderr, flush=True)
        cmd = [sys.executable, __file__, "--train-worker", GAMANET_BF16, "--size", *map(str, args.size), "--detail"]
        cmd += ["--batch", str(batch), "--device", device.type] + (["--compile"] if compiled else [])
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=args.compile_timeout)
        except subprocess.TimeoutExpired:
            lines.append(f"| {label} | not finished within {args.compile_timeout} s |")
            continue
        if result.returncode:
            lines.append(f"| {label} | failed: {result.stderr.strip().splitlines()[-1][:120]} |")
            continue
        r = json.loads(result.stdout.strip().splitlines()[-1])
        tflops = r["train_flops"] / r["train_step_s"] / 1e12
        lines.append(
            f"| {label} | {batch / r['train_step_s']:.0f} | {1000 * r['train_step_s']:.1f} | {r['first_step_s']:.1f} "
            f"| {r['train_peak_gb']:.2f} | {tflops:.1f} | {tflops / peak:.1%} | {r['kernel_share']:.0%} "
            f"| {r['kernels_per_step']:.0f} | {'; '.join(r['top_ops'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", type=int, nargs=2, default=(480, 240), metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--repeats", type=int, default=10, help="timed runs for latency (median)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--networks", nargs="*", default=None, help="default: every registered network")
    parser.add_argument("--skip-train", action="store_true", help="leave out the training-step columns")
    parser.add_argument("--no-reference", action="store_true", help="leave out Depth Anything V2-Small")
    parser.add_argument("--skip-onnx", action="store_true", help="leave out the ONNX Runtime row")
    parser.add_argument("--output", help="also write the table and the goal checks to this markdown file")
    parser.add_argument("--compile", action="store_true", help="GPU: also time the training step under torch.compile")
    parser.add_argument("--compile-timeout", type=int, default=240, help="seconds allowed per efficiency line")
    parser.add_argument("--train-worker", help=argparse.SUPPRESS)
    parser.add_argument("--detail", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.size = tuple(args.size)
    if args.train_worker:
        row = train_step_worker(args.train_worker, args.size, args.batch, args.device, args.compile, args.detail)
        print(json.dumps(row))
        return

    device = torch.device(args.device)
    names = args.networks or list_depth_networks() + [GAMANET_NCHW]
    if args.networks is None and bf16_supported(device):
        names.append(GAMANET_BF16)
    if not args.no_reference:
        names.append(REFERENCE)
        if device.type == "cuda" and bf16_supported(device):
            names.append(REFERENCE + BF16)
    rows = {}
    for name in names:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        rows[name] = measure(name, args, device)
    if not args.skip_onnx and "gamanet" in rows:
        x = torch.rand(1, 3, *input_size("gamanet", args.size))
        seconds = onnx_latency(build("gamanet"), x, args.repeats)
        if seconds is not None:
            rows[GAMANET_ORT] = {"latency_ms": 1000 * seconds}
    matmul = matmul_gflops(device)
    machine = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    if device.type == "cuda":
        machine = torch.cuda.get_device_name()
    report = [
        f"Device: {device.type} ({machine}); torch {torch.__version__}; input {args.size[0]} x {args.size[1]} "
        f"(H x W); fp32 matmul reference: {matmul:.0f} GFLOP/s.",
        "",
        table(rows, matmul, args.batch),
    ]
    if "gamanet" in rows and REFERENCE in rows:
        pairs = 3 * args.repeats
        models = [build(n).to(device).eval() for n in ("gamanet", REFERENCE)]
        inputs = [torch.rand(1, 3, *input_size(n, args.size), device=device) for n in ("gamanet", REFERENCE)]
        ratio = interleaved_latency_ratio(models[0], inputs[0], models[1], inputs[1], pairs, device)
        table_ratio = rows["gamanet"]["latency_ms"] / rows[REFERENCE]["latency_ms"]
        report += [
            "",
            f"- Goal latency <= 0.5 x Depth Anything V2-Small: {ratio:.2f} x ({pairs} alternating pairs; the table's "
            f"rows give {table_ratio:.2f} x) -> {'met' if ratio <= 0.5 else 'NOT met'}",
        ]
    if "gamanet" in rows and rows["gamanet"].get("train_peak_gb") is not None:
        peak = rows["gamanet"]["train_peak_gb"]
        verdict = "met" if peak <= 8 else "NOT met"
        report += [f"- Goal batch-{args.batch} training step within 8 GB: {peak:.2f} GB -> {verdict}"]
    if device.type == "cuda" and not args.skip_train:
        report += ["", training_efficiency(args, device)]
    text = "\n".join(report)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
