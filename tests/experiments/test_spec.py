"""The runners' typed run specifications: parsed once from the command line, frozen, JSON-able budgets."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pytest

from experiments import curve_tables, paper_tables
from experiments.spec import CurveRunSpec, DepthRunSpec

# the budget keys of the recorded tables' JSON (the runners' options by their dest names, in the parsers' order)
DEPTH_KEYS = [
    "out", "epochs", "batch", "size", "samples", "seeds", "runs", "jobs", "threads", "workers", "settings",
    "cache_on_device", "shared_cache", "name", "gap", "minutes", "device_name", "tables_only",
]  # fmt: skip
CURVE_KEYS = [
    "out", "depth_out", "depth_bundle", "depth_overrides", "depth_epochs", "depth_size", "depth_settings", "epochs",
    "batch", "size", "samples", "seeds", "runs", "jobs", "threads", "workers", "name", "settings", "model",
    "test_photos", "tables_only",
]  # fmt: skip


def test_the_command_lines_defaults_are_the_specs() -> None:
    depth = paper_tables.parse_spec([])
    assert depth == DepthRunSpec(runs=tuple(paper_tables.RUNS))
    assert depth.out == Path("runs/paper_tables") and depth.size == (240, 120) and depth.seeds == (0,)
    assert depth.epochs == 15 and depth.batch == 16 and depth.settings == "recorded" and depth.minutes is None
    curve = curve_tables.parse_spec([])
    assert curve == CurveRunSpec()
    assert curve.out == Path("runs/table4") and curve.depth_out == Path("runs/depth") and curve.size == (256, 128)
    assert curve.runs == ("rgbd", "rgb", "depth", "rgbd_gt") and curve.settings == "bundle" and curve.batch == 8


def test_options_become_typed_fields() -> None:
    spec = paper_tables.parse_spec(["--out", "x", "--size", "48", "24", "--seeds", "0", "1", "--runs", "fde"])
    assert spec.out == Path("x") and spec.size == (48, 24) and spec.seeds == (0, 1) and spec.runs == ("fde",)
    spec = paper_tables.parse_spec(["--cache-on-device", "--minutes", "30", "--device-name", "H200", "--gap"])
    assert spec.cache_on_device and spec.gap and spec.minutes == 30.0 and spec.device_name == "H200"
    curve = curve_tables.parse_spec(["--depth-bundle", "b", "--depth-size", "96", "48", "--threads", "3"])
    assert curve.depth_bundle == Path("b") and curve.depth_size == (96, 48) and curve.threads == 3
    assert {spec, dataclasses.replace(spec)} == {spec}  # frozen and hashable: every field is a tuple or a scalar
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.epochs = 3  # type: ignore[misc]
    with pytest.raises(TypeError):  # an option the spec does not have
        DepthRunSpec.from_namespace(argparse.Namespace(runs=[], unknown=1))


def test_what_the_runners_derive() -> None:
    spec = DepthRunSpec(out=Path("o"), size=(240, 120), seeds=(1, 0), runs=("fde", "gamanet"))
    assert spec.seed_dir(1) == Path("o/seed1") and spec.spatial_size == [120, 240]  # (W, H): MONAI's order
    assert spec.todo() == [(1, "fde"), (1, "gamanet"), (0, "fde"), (0, "gamanet")]  # seed-major
    assert spec.run_threads() is None  # one run at a time: every thread
    assert dataclasses.replace(spec, jobs=2).run_threads() == 1  # several at once: one thread each
    assert dataclasses.replace(spec, jobs=2, threads=4).run_threads() == 4  # --threads wins
    assert CurveRunSpec(jobs=3).run_threads() == 1


def test_budget_is_json_with_the_recorded_keys() -> None:
    depth = paper_tables.parse_spec(["--out", "runs/x", "--size", "48", "24", "--runs", "fde", "gamanet"])
    budget = depth.budget()
    assert list(budget) == DEPTH_KEYS and json.loads(json.dumps(budget)) == budget
    assert budget["out"] == "runs/x" and budget["size"] == [48, 24] and budget["runs"] == ["fde", "gamanet"]
    assert budget["threads"] is None and budget["cache_on_device"] is False and budget["name"] == "tables"
    curve = curve_tables.parse_spec(["--depth-bundle", "b", "--depth-overrides", '{"a": 1}'])
    budget = curve.budget()
    assert list(budget) == CURVE_KEYS and json.loads(json.dumps(budget)) == budget
    assert (
        budget["depth_bundle"] == "b"
        and budget["depth_out"] == "runs/depth"
        and budget["depth_overrides"] == '{"a": 1}'
    )
    assert CurveRunSpec().budget()["depth_bundle"] is None


def test_depth_spec_carries_the_curve_specs_depth_options() -> None:
    curve = CurveRunSpec(
        depth_out=Path("d"), depth_epochs=3, depth_size=(96, 48), depth_settings="bundle", jobs=2, threads=5
    )
    depth = curve.depth_spec()
    assert isinstance(depth, DepthRunSpec) and depth.runs == ("gamanet",)
    assert (depth.out, depth.epochs, depth.size, depth.settings) == (Path("d"), 3, (96, 48), "bundle")
    assert (depth.batch, depth.jobs, depth.threads) == (16, 2, 5)  # the depth runs' batch; the curve runs' jobs
    assert depth.seed_dir(0) == Path("d/seed0") and depth.spatial_size == [48, 96]
    assert not depth.cache_on_device and not depth.shared_cache
    assert depth.run_threads() == curve.run_threads() == 5
    assert paper_tables.run_overrides("gamanet", depth) == {"network_name": "gamanet"}  # --depth-settings bundle
    assert paper_tables.run_overrides("gamanet", CurveRunSpec().depth_spec())["output_activation"] == "clamp"
