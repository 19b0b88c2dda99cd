"""Validation curves of bundle runs as a picture: the metric after every epoch, one line per run.

    python -m experiments.plot_validation RUN_DIR [RUN_DIR ...] --out PICTURE.png [--metric delta1] \\
        [--recorded "NAME=0.66,0.68,..."] [--goal 0.762] [--title TEXT]

Each ``RUN_DIR`` is a bundle root whose ``log.txt`` MONAI's handlers wrote
(:func:`experiments.paper_tables.validation_curve`); ``--recorded`` adds a curve from figures recorded elsewhere (a
run no longer on disk, its values per epoch as noted), drawn dashed so it is never mistaken for a log; ``--goal``
draws the goal as a horizontal line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from experiments.paper_tables import validation_curve

__all__ = ["main", "parse_recorded", "plot_curves"]


def parse_recorded(text: str) -> tuple[str, list[float]]:
    """``"NAME=v1,v2,..."`` -> (name, values)."""
    name, sep, values = text.partition("=")
    try:
        curve = [float(v) for v in values.split(",")]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"--recorded must be NAME=v1,v2,...: {err}") from err
    if not sep or not name.strip() or not curve:
        raise argparse.ArgumentTypeError(f"--recorded must be NAME=v1,v2,...; got {text!r}")
    return name.strip(), curve


def plot_curves(
    curves: dict[str, list[float]],
    out: Path,
    metric: str,
    recorded: dict[str, list[float]] | None = None,
    goal: float | None = None,
    title: str = "",
) -> Path:
    """Draw ``curves`` (solid) and ``recorded`` (dashed) against the epoch; write ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=120)
    for style, group in (("-", curves), ("--", recorded or {})):
        for name, curve in group.items():
            ax.plot(range(1, len(curve) + 1), curve, style, marker="o", markersize=3, label=name)
    if goal is not None:
        ax.axhline(goal, color="grey", linewidth=1, linestyle=":", label=f"goal {goal:g}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"validation {metric}")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.plot_validation", description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="bundle run folders (with log.txt)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metric", default="delta1")
    parser.add_argument("--recorded", type=parse_recorded, action="append", default=[])
    parser.add_argument("--goal", type=float, default=None)
    parser.add_argument("--title", default="")
    args = parser.parse_args(argv)
    curves = {run.name: validation_curve(run, args.metric) for run in args.runs}
    empty = [str(run) for run, curve in zip(args.runs, curves.values(), strict=True) if not curve]
    if empty:
        parser.error(f"no validation {args.metric} in the log of: {', '.join(empty)}")
    plot_curves(curves, args.out, args.metric, dict(args.recorded), args.goal, args.title)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
