"""The specialist's correction loop, simulated end to end: what active learning pays, round by round.

    python -m experiments.correction_loop --out runs/loop --depth-bundle DEPTH [--depth-overrides JSON] \\
        --seeds 0 1 --strategies random first curve_uncertainty --rounds 5 --k 8 --initial 8 --pool 200 --test 100 \\
        [--size 240 120] [--initial-epochs 40] [--round-epochs 10] [--jobs 2]

Per seed, one phantom (``--pool`` photos a specialist may be shown, ``--test`` fixed test photos from another
stream) and one starting curve model: the curve bundle trained on ``--initial`` photos of the pool with their true
curves (``--initial-epochs``), the same start for every strategy (a paired comparison). Then, per strategy, a real
MONAI Label server with the app on 127.0.0.1 (its own studies folder: the pool photos; its own copy of the starting
model) is driven by MONAI Label's own client as 3D Slicer drives it: the starting labels are saved, and each round
the simulated specialist asks ``--k`` times for the next sample (``POST /activelearning/<strategy>``) and submits the
phantom's true curve for it through the app's label save (``PUT /datastore/label``, tag ``final``), then starts the
app's training (``POST /train/spine_curve``, ``--round-epochs``: the app's fine-tune of the served model, swapped in
only if better on its validation photos) and waits for it; the flip uncertainty is scored by the app after each
training (before the first round by ``POST /scoring/curve_uncertainty``). After the start and after every round the
served model is measured on the test photos (:func:`evaluate`): Cobb MAE, severity accuracy, Dice of the curve,
the editing effort (:func:`monai_gamanet.metrics.editing.redraw_share`: the share of the true C7-L5 line a
specialist would redraw at 3 mm), and whether the flip uncertainty predicts the Cobb error (Pearson r, and the
Cobb MAE of the most and least certain thirds).

Each (seed, strategy) run appends one JSON line per finished round to ``--out/seed<S>/<strategy>/rounds.jsonl``,
and continues from there when the command is given again (its labels are in its studies folder, its model in its
``served/`` bundle; a round interrupted mid-way asks only for the photos it still lacks). ``--out/loop.md`` /
``loop.json``: per strategy and round the mean over seeds, the labelled photos needed to reach a Cobb MAE of 6 and
4 degrees, and ``curve_uncertainty`` against ``random`` paired over seeds and rounds.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from monai_gamanet.data.files import atomic_write
from monai_gamanet.data.synthetic import generate_sample, write_sample
from monai_gamanet.inference.bundles import run_bundle
from monai_gamanet.metrics.editing import redraw_share

__all__ = ["STRATEGIES", "evaluate", "main", "measure_photos", "summarise", "summarise_photos"]

logger = logging.getLogger("experiments.correction_loop")

STRATEGIES = ("random", "first", "curve_uncertainty")
TEST_STREAM = 1_000_000  # test photos are samples TEST_STREAM + i of the seed: never in the pool
GOALS_DEG = (6.0, 4.0)


def _phantom(folder: Path, seed: int, indices: range, size: tuple[int, int]) -> list[dict]:
    """Write the phantom samples ``indices`` of ``seed`` (photo, label, curve) under ``folder``; reuses them."""
    items = []
    for i in indices:
        name = f"case_{i:07d}"
        entry = {k: str(folder / v) for k, v in _entry(name).items()}
        if not all(Path(p).is_file() for p in entry.values()):
            write_sample(generate_sample(i, seed, *size, name=name), folder, name)
        items.append({"id": name, **entry})
    return items


def _entry(name: str) -> dict[str, str]:
    return {"image": f"images/{name}.png", "label": f"labels/{name}.png", "curve": f"curves/{name}.json"}


def measure_photos(chain, items: list[dict]) -> list[dict]:
    """The chain on every test item (``id``, ``image``, ``label``, ``curve`` files): per photo the Cobb error
    (NaN where no curve was found), severity right, the Dice of the curve label, the redraw share and the flip
    uncertainty (the app's active-learning score)."""
    import torch
    from monai.metrics import DiceMetric

    from monai_gamanet.inference.chain import load_photo

    rows = []
    for item in items:
        doc = json.loads(Path(item["curve"]).read_text())
        photo = load_photo(item["image"])
        depth = chain.depth(photo)
        result = chain(photo, item["id"], doc["pixel_spacing_mm"], depth=depth)
        truth = np.asarray(Image.open(item["label"])).T > 0
        dice = DiceMetric(include_background=True, ignore_empty=False)
        dice(torch.from_numpy(result.label > 0)[None, None].float(), torch.from_numpy(truth)[None, None].float())
        found = bool(result.report.get("curve_found"))
        rows.append(
            {
                "id": item["id"],
                "cobb_error_deg": abs(result.report["major_cobb_deg"] - doc["major_cobb_deg"]) if found else math.nan,
                "severity_right": found and result.report["severity"] == doc["severity"],
                "dice": float(dice.aggregate().item()),
                "redraw_share": redraw_share(
                    result.report["points"] if found else None, doc["points"], doc["pixel_spacing_mm"]
                ),
                "uncertainty": chain.curve.uncertainty(photo, depth if chain.curve.needs_depth else None),
            }
        )
    return rows


def summarise_photos(rows: list[dict]) -> dict:
    """The loop's figures for one model from :func:`measure_photos`' rows: Cobb MAE over found curves, severity
    accuracy, mean Dice, redraw share, photos without a curve and, with at least 6 curves found, whether the
    uncertainty predicts the Cobb error (Pearson r, the MAE of the most and least certain thirds)."""
    err = np.asarray([r["cobb_error_deg"] for r in rows], float)
    unc = np.asarray([r["uncertainty"] for r in rows], float)
    ok = np.isfinite(err)
    out = {
        "cobb_mae_deg": float(err[ok].mean()) if ok.any() else None,
        "severity_accuracy": float(np.mean([r["severity_right"] for r in rows])),
        "dice": float(np.mean([r["dice"] for r in rows])),
        "redraw_share": float(np.mean([r["redraw_share"] for r in rows])),
        "no_curve_found": int((~ok).sum()),
        "test_photos": len(rows),
    }
    if ok.sum() >= 6 and err[ok].std() > 0 and unc[ok].std() > 0:
        order = np.argsort(unc[ok])
        third = len(order) // 3
        out["uncertainty_r"] = float(np.corrcoef(unc[ok], err[ok])[0, 1])
        out["mae_most_certain_third"] = float(err[ok][order[:third]].mean())
        out["mae_least_certain_third"] = float(err[ok][order[-third:]].mean())
    return out


def evaluate(chain, items: list[dict]) -> dict:
    """:func:`summarise_photos` of :func:`measure_photos`: the loop's figures for the served model."""
    return summarise_photos(measure_photos(chain, items))


def _initial_model(seed_dir: Path, items: list[dict], args: argparse.Namespace) -> Path:
    """The starting curve model of a seed: the bundle trained on the ``--initial`` labelled photos."""
    root = seed_dir / "initial"
    if (root / "models" / "model.pt").is_file() and (root / "finished").is_file():
        return root
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    entries = [{"image": it["image"], "label": it["label"]} for it in items]
    split = {"training": entries[1:], "validation": entries[:1], "test": entries[:1]}
    (data / "datalist.json").write_text(json.dumps(split, indent=1))
    overrides = {
        "bundle_root": str(root),
        "dataset_dir": str(data),
        "epochs": args.initial_epochs,
        "num_workers": 0,
        **_curve_settings(args),
    }
    run_bundle("spine_curve_segmentation", ["train.yaml"], overrides, root / "train.log", args.threads)
    (root / "finished").touch()
    return root


def _curve_settings(args: argparse.Namespace) -> dict:
    return {
        "spatial_size": [args.size[1], args.size[0]],
        "depth_bundle_root": str(args.depth_bundle),
        "depth_overrides": args.depth_overrides,
    }


def _wait(client, what: str, status, timeout: float = 7200) -> dict:
    deadline = time.monotonic() + timeout
    while (answer := status())["status"] in ("SUBMITTED", "RUNNING"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not finish in {timeout:.0f} s")
        time.sleep(2)
    if answer["status"] != "DONE":
        raise RuntimeError(f"{what} ended {answer['status']}: {answer.get('details', '')!s:.2000}")
    return answer


def prepare_seed(seed: int, args: argparse.Namespace) -> dict:
    """A seed's pool and test photos (written once) and its starting model (trained once): shared by every
    strategy of the seed."""
    seed_dir = args.out / f"seed{seed}"
    pool = _phantom(seed_dir / "phantom", seed, range(args.pool), tuple(args.size))
    test = _phantom(seed_dir / "phantom", seed, range(TEST_STREAM, TEST_STREAM + args.test), tuple(args.size))
    first = sorted(np.random.default_rng(seed).choice(len(pool), args.initial, replace=False).tolist())
    initial = _initial_model(seed_dir, [pool[i] for i in first], args)
    return {"pool": pool, "test": test, "first": [pool[i]["id"] for i in first], "initial": initial}


def run_strategy(seed: int, strategy: str, args: argparse.Namespace) -> list[dict]:
    """One (seed, strategy) run of the loop (resumable); returns its rounds."""
    import requests
    from monailabel.client import MONAILabelClient

    from monai_gamanet.cli import serve
    from monai_gamanet.inference.chain import SpineChain
    from monai_gamanet.inference.curve import CurvePredictor
    from monai_gamanet.inference.depth import DepthPredictor

    prepared = prepare_seed(seed, args)
    pool, test, initial = prepared["pool"], prepared["test"], prepared["initial"]
    run = args.out / f"seed{seed}" / strategy
    studies, served = run / "studies", run / "served"
    if not (served / "models" / "model.pt").is_file():
        studies.mkdir(parents=True, exist_ok=True)
        for item in pool:
            shutil.copy(item["image"], studies / Path(item["image"]).name)
        (served / "models").mkdir(parents=True, exist_ok=True)
        shutil.copy(initial / "models" / "model.pt", served / "models" / "model.pt")
    log = run / "rounds.jsonl"
    rounds = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    if len(rounds) > args.rounds:
        return rounds
    truth = {item["id"]: item for item in pool}
    depth = DepthPredictor.from_bundle(args.depth_bundle, args.depth_overrides, "cpu")
    conf = {"depth_bundle": str(args.depth_bundle), "curve_bundle": str(served), "device": "cpu"}
    conf |= {"depth_overrides": json.dumps(args.depth_overrides), "curve_overrides": json.dumps(_curve_overrides(args))}
    conf |= {"work_dir": str(run / "app_model"), "fine_tune": "true"}
    port = serve.free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "MONAI_LABEL_AUTO_UPDATE_SCORING": "false"}
    env |= {"OMP_NUM_THREADS": str(args.threads), "HOME": str(run / "home")}
    proc = serve.start_server(
        serve.server_command(studies, "127.0.0.1", port, conf, serve.copy_app(run)), url, run / "server.log", env
    )
    try:
        client = MONAILabelClient(url, tmpdir=str(run / "client"))
        labelled = _labelled(client)
        for image_id in prepared["first"]:
            if image_id not in labelled:
                client.save_label(image_id, truth[image_id]["label"], tag="final")
        while len(rounds) <= args.rounds:
            r = len(rounds)
            if r > 0:
                if strategy == "curve_uncertainty" and r == 1 and not (run / "scored").is_file():
                    requests.post(f"{url}/scoring/curve_uncertainty", json={}, timeout=60).raise_for_status()
                    _wait(client, "scoring", lambda: requests.get(f"{url}/scoring/", timeout=60).json())
                    (run / "scored").touch()
                while len(labelled := _labelled(client)) < args.initial + r * args.k:
                    image_id = client.next_sample(strategy, {})["id"]
                    if image_id in labelled:
                        raise RuntimeError(f"strategy {strategy} offered {image_id}, which is labelled already")
                    client.save_label(image_id, truth[image_id]["label"], tag="final")
                client.train_start("spine_curve", {"max_epochs": args.round_epochs})
                _wait(client, "training", client.train_status)
            chain = SpineChain(depth, CurvePredictor.from_bundle(served, _curve_overrides(args), "cpu"))
            row = {"seed": seed, "strategy": strategy, "round": r, "labelled": len(_labelled(client))}
            row |= evaluate(chain, test)
            stats = client.info().get("train_stats", {}).get("spine_curve", {}) if r > 0 else {}
            row["swapped"] = stats.get("swapped")
            rounds.append(row)
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
            logger.info("seed %d %s round %d: %s", seed, strategy, r, json.dumps(row))
    finally:
        serve.stop_server(proc)
    return rounds


def _curve_overrides(args: argparse.Namespace) -> dict:
    return {"spatial_size": [args.size[1], args.size[0]]}


def _labelled(client) -> set[str]:
    """Image ids of the server's datastore with a ``final`` label."""
    objects = client.datastore().get("objects", {})
    return {image_id for image_id, obj in objects.items() if "final" in obj.get("labels", {})}


def summarise(rows: list[dict]) -> dict:
    """Per strategy and round the mean over seeds; photos to reach each goal; uncertainty vs random, paired."""
    out: dict = {"by_round": {}, "photos_to_goal": {}, "paired": None}
    strategies = sorted({r["strategy"] for r in rows}, key=lambda s: STRATEGIES.index(s) if s in STRATEGIES else 9)
    for s in strategies:
        table = {}
        for r in sorted({row["round"] for row in rows if row["strategy"] == s}):
            group = [row for row in rows if row["strategy"] == s and row["round"] == r]
            table[r] = {"seeds": len(group), "labelled": float(np.mean([g["labelled"] for g in group]))}
            for key in ("cobb_mae_deg", "severity_accuracy", "dice", "redraw_share", "uncertainty_r"):
                values = [g[key] for g in group if g.get(key) is not None]
                table[r][key] = float(np.mean(values)) if values else None
        out["by_round"][s] = table
        out["photos_to_goal"][s] = {
            str(goal): next(
                (t["labelled"] for t in table.values() if t["cobb_mae_deg"] is not None and t["cobb_mae_deg"] <= goal),
                None,
            )
            for goal in GOALS_DEG
        }
    pairs = {}
    for row in rows:
        if row["round"] > 0 and row["strategy"] in ("random", "curve_uncertainty") and row["cobb_mae_deg"] is not None:
            pairs.setdefault((row["seed"], row["round"]), {})[row["strategy"]] = row["cobb_mae_deg"]
    d = np.array([p["curve_uncertainty"] - p["random"] for p in pairs.values() if len(p) == 2])
    if len(d):
        se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else None
        out["paired"] = {"n": len(d), "mean_deg": float(d.mean()), "se_deg": se}
    return out


def table(summary: dict) -> str:
    def cell(v, fmt):
        return "-" if v is None else format(v, fmt)

    lines = ["| strategy | round | labelled | Cobb MAE | severity | Dice | redraw share | uncertainty r |"]
    lines.append("|---|---|---|---|---|---|---|---|")
    for s, rounds in summary["by_round"].items():
        for r, t in rounds.items():
            lines.append(
                f"| {s} | {r} | {t['labelled']:.0f} | {cell(t['cobb_mae_deg'], '.2f')} "
                f"| {cell(t['severity_accuracy'], '.0%')} | {cell(t['dice'], '.3f')} "
                f"| {cell(t['redraw_share'], '.2f')} | {cell(t['uncertainty_r'], '+.2f')} |"
            )
    lines += ["", "| strategy | " + " | ".join(f"photos to Cobb MAE <= {g:g}" for g in GOALS_DEG) + " |"]
    lines.append("|---|" + "---|" * len(GOALS_DEG))
    for s, goals in summary["photos_to_goal"].items():
        lines.append(f"| {s} | " + " | ".join(cell(goals[str(g)], ".0f") for g in GOALS_DEG) + " |")
    p = summary["paired"]
    if p:
        se = "-" if p["se_deg"] is None else f"{p['se_deg']:.2f}"
        verdict = "beats" if p["se_deg"] and p["mean_deg"] < -2 * p["se_deg"] else "does not beat (2 SE)"
        lines += [
            "",
            f"curve_uncertainty - random, Cobb MAE paired over {p['n']} (seed, round) pairs: "
            f"{p['mean_deg']:+.2f} +- {se} deg: curve_uncertainty {verdict} random.",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.correction_loop", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--depth-bundle", type=Path, required=True, help="a trained depth bundle folder")
    parser.add_argument("--depth-overrides", type=json.loads, default={}, help="JSON: its training settings")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--k", type=int, default=8, help="photos corrected per round")
    parser.add_argument("--initial", type=int, default=8, help="labelled photos of the starting model")
    parser.add_argument("--pool", type=int, default=200, help="photos the strategies choose from")
    parser.add_argument("--test", type=int, default=100, help="fixed test photos")
    parser.add_argument("--size", type=int, nargs=2, default=(240, 120), metavar=("H", "W"))
    parser.add_argument("--initial-epochs", type=int, default=40)
    parser.add_argument("--round-epochs", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2, help="runs at once, one CPU thread each")
    args = parser.parse_args(argv)
    if args.initial < 2 or args.k < 1 or args.rounds < 1 or args.pool < args.initial + args.rounds * args.k:
        parser.error("need --initial >= 2, --k >= 1, --rounds >= 1 and a pool of at least initial + rounds x k")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args.out, args.depth_bundle = args.out.resolve(), args.depth_bundle.resolve()
    args.threads = 1 if args.jobs > 1 else max(1, os.cpu_count() or 1)
    import torch

    torch.set_num_threads(args.threads)
    runs = [(seed, s) for seed in args.seeds for s in args.strategies]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:  # the starting models first, then the runs
        list(pool.map(lambda seed: prepare_seed(seed, args), args.seeds))
        results = list(pool.map(lambda job: run_strategy(*job, args), runs))
    rows = [row for rounds in results for row in rounds]
    summary = summarise(rows)
    text = table(summary)
    print(text)
    atomic_write(args.out / "loop.md", lambda tmp: Path(tmp).write_text(text + "\n"))
    atomic_write(args.out / "loop.json", lambda tmp: Path(tmp).write_text(json.dumps(summary, indent=1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
