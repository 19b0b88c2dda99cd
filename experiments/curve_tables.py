"""The paper's Table 4 on the phantom: the curve U-Net on estimated depth only, RGB only and RGBD, plus Cobb angles.

    python -m experiments.curve_tables --out runs/table4 --depth-out runs/depth --seeds 0 1 \\
        --size 256 128 --epochs 60 --jobs 2

Each seed is one phantom (``--samples`` photos, generated with that seed into ``--out/seed<S>/phantom``) and one
depth model: ``--depth-bundle`` (one trained model for every seed, e.g. the reference depth model trained on a
phantom of another seed, so it never saw these photos), or else GAMA-Net trained by :mod:`experiments.paper_tables`
on that phantom, in ``--depth-out/seed<S>/gamanet`` (trained there first when missing, at ``--depth-size`` for
``--depth-epochs`` with ``--depth-settings``; a trained one is reused). Its estimate of every photo is cached once
(:func:`monai_gamanet.inference.depth_cache.cache_depth`, exactly as the curve bundle asks for it), then every run of
:data:`RUNS` is the ``spine_curve_segmentation`` bundle itself (``train.yaml``, then ``train.yaml`` +
``evaluate.yaml``) in ``--out/seed<S>/<run>``, ``--jobs`` at a time with one CPU thread each. Runs continue from
their ``last.pt`` when the command is given again or with more epochs.

Rows: estimated depth only, RGB only, RGBD (the paper's), and RGBD with the sensor's depth (an upper bound, not a
result: no photo-only method has it). ``rgbd_ce`` (RGBD trained with the paper's cross entropy alone) and
``rgbd_dicece`` (with Dice + cross entropy) are diagnostics of the loss, run only when named in ``--runs``.
``--settings bundle`` (default) trains and measures with the bundle's current defaults (Dice + cross entropy, the
centre line read from the probability); ``--settings cosine`` the same with a warm-up + cosine schedule from 1e-3
(the rate measured to let every input take off within the budget); ``--settings recorded`` with those of the first
recorded tables (``docs/table4_cpu.md``: the paper's cross entropy, the 0.5 mask), so that they stay reproducible.

``--test-photos N`` evaluates every run (after training, or a trained one again) on N held-out photos per seed
instead of the phantom's own test split (:func:`prepare_held_out`: another phantom stream, never trained or
validated on), into ``<run>/eval_heldout<N>`` or ``eval_final_heldout<N>`` beside the split's evaluation: more test
photos, tighter paired comparisons, no training.

Writes ``<name>.md`` and ``<name>.json`` (:func:`experiments.tables.write_curve_tables`): Table 4's five mask metrics
and the morphology (Cobb MAE and r, severity and curve-type accuracy, photos with no curve found) as the mean (and
standard deviation) over seeds; paired per-image differences between inputs (mean and standard error over every test
photo of every seed); the agreement with the true Cobb angle (Bland-Altman); the issue's goals, each said met or
missed; every run's validation line agreement curve (its key metric) with a plateau test; the budget and the machine.

The command line is parsed once into an :class:`experiments.spec.CurveRunSpec` (:func:`parse_spec`); its
:meth:`~experiments.spec.CurveRunSpec.depth_spec` is the depth runs' :class:`~experiments.spec.DepthRunSpec`.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from experiments import paper_tables as pt
from experiments.spec import CurveRunSpec
from experiments.tables import write_curve_tables

__all__ = ["RUNS", "SETTINGS", "depth_sources", "main", "parse_spec", "prepare_held_out", "prepare_seed"]

logger = logging.getLogger("experiments.curve_tables")

BUNDLE = "spine_curve_segmentation"
# run name -> curve bundle overrides
RUNS: dict[str, dict[str, object]] = {
    "depth": {"inputs": "depth"},
    "rgb": {"inputs": "rgb"},
    "rgbd": {"inputs": "rgbd"},
    "rgbd_gt": {"inputs": "rgbd", "depth_source": "ground_truth"},
    "rgbd_ce": {"inputs": "rgbd", "dice_weight": 0.0},  # the paper's loss: a diagnostic
    "rgbd_dicece": {"inputs": "rgbd", "dice_weight": 1.0},  # a diagnostic of the loss under --settings recorded
}
# --settings: the bundle's current defaults, or those the first recorded tables (docs/table4_cpu.md) ran with
SETTINGS: dict[str, dict[str, object]] = {
    "bundle": {},
    "recorded": {"dice_weight": 0.0, "curve_decoding": "mask"},
    "cosine": {"learning_rate": 1e-3, "lr_schedule": "warmup_cosine"},
}
SETTINGS_TEXT = {
    "bundle": "the bundle's defaults (Dice + cross entropy; centre line read from the curve probability)",
    "recorded": "the paper's two-class cross entropy, centre line from the 0.5 mask",
    "cosine": "the bundle's defaults with a warm-up + cosine schedule from 1e-3 (lr_schedule warmup_cosine)",
}


def depth_sources(runs: tuple[str, ...] | list[str]) -> set[str]:
    """Where the D channel of ``runs`` comes from ("estimated", "ground_truth"); empty for RGB-only runs."""
    return {RUNS[n].get("depth_source", "estimated") for n in runs if RUNS[n]["inputs"] != "rgb"}


def prepare_seed(spec: CurveRunSpec, seed: int) -> dict[str, object]:
    """The seed's phantom, its trained depth model (when a run uses estimated depth) and the cached depth: the
    overrides every curve run shares."""
    dataset = pt.prepare_phantom(spec.seed_dir(seed), seed, spec.samples, spec.workers)
    shared = {
        "dataset_dir": str(dataset),
        "spatial_size": spec.spatial_size,  # (W, H) in MONAI's axis order
        "seed": seed,
        "batch_size": spec.batch,
        "num_workers": 2,
    }
    sources = depth_sources(spec.runs)
    if spec.depth_bundle is not None:  # one trained depth model for every seed's photos
        shared["depth_bundle_root"] = str(spec.depth_bundle)
        shared["depth_overrides"] = json.loads(spec.depth_overrides)
    elif "estimated" in sources:  # no depth model trained for runs that use no estimate (RGB, sensor depth)
        depth = spec.depth_spec()
        pt.run_one(depth, "gamanet", seed, dataset)
        shared["depth_bundle_root"] = str(depth.seed_dir(seed) / "gamanet")
        shared["depth_overrides"] = {"spatial_size": depth.spatial_size, **pt.run_overrides("gamanet", depth)}
    _cache_depth(dataset, sources, shared)
    return shared


def _cache_depth(dataset: Path, sources: set[str], shared: dict[str, object]) -> None:
    """Every photo's D channel of ``sources`` cached once in ``dataset/depth_cache``, before the runs that share it
    (as the bundle asks for it: same arguments, same cache folder)."""
    from monai_gamanet.data import prepare_dataset
    from monai_gamanet.inference.depth_cache import cache_depth

    datalist = prepare_dataset(dataset)
    for source in sorted(sources):
        cache_depth(
            datalist,
            dataset / "depth_cache",
            source,
            shared.get("depth_bundle_root"),
            overrides=shared.get("depth_overrides"),
        )


def prepare_held_out(spec: CurveRunSpec, seed: int, shared: dict[str, object]) -> dict[str, object]:
    """``spec.test_photos`` held-out test photos of ``seed`` (phantom seed :meth:`~CurveRunSpec.held_out_seed`,
    generated once into ``<seed folder>/heldout``, every photo in its datalist's test list) with their D channel
    cached as for the training phantom; returns the evaluation's overrides (none when ``test_photos`` is 0).

    The phantom's own test split is 10 % of ``--samples`` (40 photos of 400): too few to tell two inputs apart
    beyond two standard errors when they differ by a fraction of a degree; held-out photos cost an evaluation each,
    no training, so the paired comparisons can use hundreds."""
    if not spec.test_photos:
        return {}
    from monai_gamanet.data.files import atomic_write
    from monai_gamanet.data.synthetic import generate_dataset

    folder = spec.seed_dir(seed) / "heldout"
    path = folder / "datalist.json"
    datalist = json.loads(path.read_text()) if path.is_file() else {}
    if len(datalist.get("test", [])) != spec.test_photos:
        generate_dataset(folder, spec.test_photos, seed=spec.held_out_seed(seed), workers=spec.workers, preview=False)
        everything = [item for split in json.loads(path.read_text()).values() for item in split]
        everything.sort(key=lambda item: item["image"])
        held_out = {"training": [], "validation": [], "test": everything}
        atomic_write(path, lambda p: Path(p).write_text(json.dumps(held_out, indent=1)))
    _cache_depth(folder, depth_sources(spec.runs), shared)
    return {"dataset_dir": str(folder)}


def parse_spec(argv: list[str] | None = None) -> CurveRunSpec:
    """The command line's :class:`~experiments.spec.CurveRunSpec` (``--help``: every option)."""
    parser = argparse.ArgumentParser(prog="python -m experiments.curve_tables", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=CurveRunSpec.out)
    parser.add_argument(
        "--depth-out", type=Path, default=CurveRunSpec.depth_out, help="paper_tables' --out of the depth runs"
    )
    parser.add_argument(
        "--depth-bundle",
        type=Path,
        default=CurveRunSpec.depth_bundle,
        help="a trained depth bundle folder used for every seed (e.g. the reference depth model; it must not have "
        "seen these phantoms' photos) instead of training one per seed",
    )
    parser.add_argument(
        "--depth-overrides", default=CurveRunSpec.depth_overrides, help="--depth-bundle's settings, as JSON"
    )
    parser.add_argument("--depth-epochs", type=int, default=CurveRunSpec.depth_epochs)
    parser.add_argument("--depth-size", type=int, nargs=2, default=CurveRunSpec.depth_size, metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--depth-settings", choices=list(pt.SETTINGS), default=CurveRunSpec.depth_settings)
    parser.add_argument("--epochs", type=int, default=CurveRunSpec.epochs)
    parser.add_argument("--batch", type=int, default=CurveRunSpec.batch)
    parser.add_argument("--size", type=int, nargs=2, default=CurveRunSpec.size, metavar=("HEIGHT", "WIDTH"))
    parser.add_argument(
        "--samples", type=int, default=CurveRunSpec.samples, help="phantom samples per seed (generated at 480 x 240)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=CurveRunSpec.seeds)
    parser.add_argument("--runs", nargs="*", default=list(CurveRunSpec.runs), choices=list(RUNS))
    parser.add_argument(
        "--jobs", type=int, default=CurveRunSpec.jobs, help="runs at once, one CPU thread each when more than one"
    )
    parser.add_argument(
        "--threads", type=int, default=CurveRunSpec.threads, help="CPU threads per run (default: see --jobs)"
    )
    parser.add_argument("--workers", type=int, default=CurveRunSpec.workers, help="processes generating each phantom")
    parser.add_argument("--name", default=CurveRunSpec.name, help="file stem of the tables written to --out")
    parser.add_argument(
        "--settings",
        choices=list(SETTINGS),
        default=CurveRunSpec.settings,
        help="bundle: the curve bundle's defaults; recorded: those of docs/table4_cpu.md (CE loss, 0.5 mask)",
    )
    parser.add_argument(
        "--model",
        choices=("best", "final"),
        default=CurveRunSpec.model,
        help="evaluate the best-validation model (by line agreement; eval/) or the final one (the schedule's end; "
        "eval_final/)",
    )
    parser.add_argument(
        "--test-photos",
        type=int,
        default=CurveRunSpec.test_photos,
        help="evaluate on this many held-out photos per seed (phantom seed S + 100000, generated into "
        "<out>/seed<S>/heldout) instead of the phantom's own test split (0, the default)",
    )
    parser.add_argument("--tables-only", action="store_true", help="train nothing: tables from the saved runs")
    return CurveRunSpec.from_namespace(parser.parse_args(argv))


def main(argv: list[str] | None = None) -> str:
    spec = parse_spec(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if spec.tables_only:
        results = pt.saved_results(spec)
    else:
        shared = {s: prepare_seed(spec, s) for s in spec.seeds}
        evaluation = {s: prepare_held_out(spec, s, shared[s]) for s in spec.seeds}
        threads = spec.run_threads()

        def train(s: int, n: str) -> dict:
            overrides = {"bundle_root": str(spec.seed_dir(s) / n), **shared[s], **SETTINGS[spec.settings], **RUNS[n]}
            label = f"{n} (seed {s})"
            return pt.train_and_evaluate(
                BUNDLE, overrides, spec.epochs, threads, label, spec.model, spec.eval_dir, evaluation[s]
            )

        results = pt.run_all(spec, train)
    text = write_curve_tables(
        spec,
        results,
        pt.total_minutes(spec, spec.todo()),
        settings_text=SETTINGS_TEXT[spec.settings],
        depth_settings_text=pt.SETTINGS_TEXT[spec.depth_settings],
        curves=pt.validation_curves(spec, "line_agreement"),
        depth_model="estimated" in depth_sources(spec.runs),
    )
    logger.info("tables written to %s:\n%s", spec.out / f"{spec.name}.md", text)
    return text


if __name__ == "__main__":
    main()
