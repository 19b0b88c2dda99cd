"""Typed run specifications: what ``python -m experiments.paper_tables`` and ``python -m experiments.curve_tables``
were asked to run, converted once from their parsed command lines.

:class:`DepthRunSpec` has a field for every option of :mod:`experiments.paper_tables`, :class:`CurveRunSpec` one for
every option of :mod:`experiments.curve_tables` (the same names as the options' ``dest``, the same defaults; sizes as
(H, W) tuples, paths as :class:`~pathlib.Path`). Both are frozen: a changed budget is a new spec
(:func:`dataclasses.replace`). This module imports neither runner.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Self

__all__ = ["CurveRunSpec", "DepthRunSpec", "RunSpec"]


def _jsonable(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


class RunSpec:
    """What both specs derive from the options they share (every (seed, run) pair, the seed folders, the threads
    per run, the bundles' ``spatial_size``) and their conversions from and to the command line's values."""

    out: Path
    size: tuple[int, int]
    seeds: tuple[int, ...]
    runs: tuple[str, ...]
    jobs: int
    threads: int | None

    @classmethod
    def from_namespace(cls, ns: argparse.Namespace) -> Self:
        """The spec of a parsed command line: each ``dest`` is a field (an unknown one is an error); lists (``nargs``)
        become tuples."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in vars(ns).items()})

    def seed_dir(self, seed: int) -> Path:
        """The folder of one seed's phantom and runs: ``out/seed<S>``."""
        return self.out / f"seed{seed}"

    @property
    def eval_dir(self) -> str:
        """Each run's evaluation folder under its bundle folder."""
        return "eval"

    def todo(self) -> list[tuple[int, str]]:
        """Every (seed, run) pair, seed-major: a whole seed first."""
        return [(seed, name) for seed in self.seeds for name in self.runs]

    def run_threads(self) -> int | None:
        """CPU threads per run: ``--threads``, else one when several runs share the machine, else all (None)."""
        if self.threads:
            return self.threads
        return 1 if self.jobs > 1 else None

    @property
    def spatial_size(self) -> list[int]:
        """``size`` (H, W) as the bundles' ``spatial_size``: [W, H], MONAI's axis order."""
        return [self.size[1], self.size[0]]

    def budget(self) -> dict[str, Any]:
        """Every option by its ``dest`` name, JSON-able (paths as strings, tuples as lists): the ``budget`` that the
        tables' JSON records."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class DepthRunSpec(RunSpec):
    """The options of ``python -m experiments.paper_tables`` (its ``--help`` says what each does).

    ``runs`` has no default here: the command line's is every run of :data:`experiments.paper_tables.RUNS`, which
    this module does not import.
    """

    out: Path = Path("runs/paper_tables")
    epochs: int = 15
    batch: int = 16
    size: tuple[int, int] = (240, 120)  # (H, W)
    samples: int = 400
    seeds: tuple[int, ...] = (0,)
    runs: tuple[str, ...]
    jobs: int = 1
    threads: int | None = None
    workers: int = 2
    settings: str = "recorded"
    cache_on_device: bool = False
    shared_cache: bool = False
    name: str = "tables"
    gap: bool = False
    minutes: float | None = None
    device_name: str | None = None
    tables_only: bool = False


HELD_OUT_SEED_OFFSET = 100_000  # --test-photos of seed S are phantom seed S + this: never a training phantom


@dataclass(frozen=True, kw_only=True)
class CurveRunSpec(RunSpec):
    """The options of ``python -m experiments.curve_tables`` (its ``--help`` says what each does)."""

    out: Path = Path("runs/table4")
    depth_out: Path = Path("runs/depth")
    depth_bundle: Path | None = None
    depth_overrides: str = "{}"  # JSON, as given (and recorded)
    depth_epochs: int = 15
    depth_size: tuple[int, int] = (240, 120)  # (H, W)
    depth_settings: str = "recorded"
    epochs: int = 60
    batch: int = 8
    size: tuple[int, int] = (256, 128)  # (H, W)
    samples: int = 400
    seeds: tuple[int, ...] = (0,)
    runs: tuple[str, ...] = ("rgbd", "rgb", "depth", "rgbd_gt")
    jobs: int = 1
    threads: int | None = None
    workers: int = 2
    name: str = "table4"
    settings: str = "bundle"
    model: str = "best"  # which weights are evaluated: best (validation line agreement) or final (the schedule's end)
    test_photos: int = 0  # > 0: evaluated on that many held-out photos per seed instead of the phantom's test split
    tables_only: bool = False

    @property
    def eval_dir(self) -> str:
        """``eval`` for the best-validation model, ``eval_final`` for the final one, each with ``_heldout<N>`` when
        evaluated on ``test_photos`` held-out photos: all kept side by side."""
        base = "eval" if self.model == "best" else "eval_final"
        return f"{base}_heldout{self.test_photos}" if self.test_photos else base

    def held_out_seed(self, seed: int) -> int:
        """The phantom seed of ``seed``'s held-out test photos: another stream than every training seed's."""
        return HELD_OUT_SEED_OFFSET + seed

    def depth_spec(self) -> DepthRunSpec:
        """The depth runs of this experiment (without ``depth_bundle``): GAMA-Net on each seed's phantom, in
        ``depth_out/seed<S>/gamanet``, at ``depth_size`` for ``depth_epochs`` with ``depth_settings`` and
        :class:`DepthRunSpec`'s default batch, as many at a time and with as many threads as the curve runs."""
        return DepthRunSpec(
            out=self.depth_out,
            epochs=self.depth_epochs,
            size=self.depth_size,
            samples=self.samples,
            seeds=self.seeds,
            runs=("gamanet",),
            jobs=self.jobs,
            threads=self.threads,
            workers=self.workers,
            settings=self.depth_settings,
        )
