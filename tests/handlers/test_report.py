"""The depth evaluation report: MONAI metric handlers by name, the paper's table, and the files written from an
evaluation's per-image details (named by photo) with its sample pictures."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from ignite.engine import Engine, Events
from monai.data import MetaTensor
from PIL import Image

from monai_gamanet.handlers.report import ALIGNED, DepthEvaluationReport, depth_metric_handlers, metrics_markdown
from monai_gamanet.metrics.depth import DEPTH_METRICS


def test_handlers_by_name() -> None:
    every = depth_metric_handlers()
    assert list(every) == [*DEPTH_METRICS, *(ALIGNED + m for m in DEPTH_METRICS)]
    assert every["aligned_rmse"].metric_fn.align == "scale_shift" and every["rmse"].metric_fn.align == "none"
    assert every["rmse"].metric_fn.names == ("rmse",) and every["rmse"].save_details
    rest = depth_metric_handlers(["delta1", "aligned_delta1"], exclude=["delta1"], eps=0.01, save_details=False)
    assert list(rest) == ["aligned_delta1"] and rest["aligned_delta1"].metric_fn.eps == 0.01
    with pytest.raises(ValueError, match="unknown depth metric"):
        depth_metric_handlers(["silog"])


def test_table_in_the_paper_format() -> None:
    rows = {"GAMA-Net": {m: 0.5 for m in DEPTH_METRICS} | {"aligned_abs_rel": 0.25}, "FDE": {"abs_rel": 0.125}}
    lines = metrics_markdown(rows).splitlines()
    assert lines[0] == "| Method | Abs Rel | RMSE | Sq Rel | δ<1.25 | δ<1.25² | δ<1.25³ |"  # FDE lacks aligned ones
    assert lines[1] == "|---|---|---|---|---|---|---|" and lines[3] == "| FDE | 0.1250 | - | - | - | - | - |"
    only = metrics_markdown({"GAMA-Net": rows["GAMA-Net"]}, ["delta1", "aligned_abs_rel"]).splitlines()
    assert only[0] == "| Method | δ<1.25 | Abs Rel (aligned) |" and only[2] == "| GAMA-Net | 0.5000 | 0.2500 |"


def _sample(name: str, ratio: float) -> dict:
    """A photo with a (2, W, H) label (depth, valid mask) and a prediction ``ratio`` times the depth."""
    depth = torch.linspace(0.2, 0.8, 16 * 8).reshape(1, 16, 8)
    photo = MetaTensor(torch.rand(3, 16, 8), meta={"filename_or_obj": f"/data/images/{name}.png"})
    return {"image": photo, "label": torch.cat([depth, torch.ones_like(depth)]), "pred": depth * ratio}


def _evaluator() -> Engine:
    """An engine whose output is the batch's samples, decollated, as a MONAI evaluator's; its state holds
    ``metric_details`` as a MONAI workflow's does."""
    engine = Engine(lambda engine, batch: batch)
    engine.add_event_handler(Events.STARTED, lambda e: setattr(e.state, "metric_details", {}))
    return engine


def test_report_written_from_the_handlers_details(tmp_path: Path) -> None:
    engine = _evaluator()
    for name, handler in depth_metric_handlers(["delta1", "abs_rel", "aligned_abs_rel"]).items():
        handler.attach(engine, name)
    DepthEvaluationReport(str(tmp_path / "eval"), name="Test net", n_pictures=1).attach(engine)
    batches = [[_sample("case_0001", 1.0), _sample("case_0002", 0.5)], [_sample("case_0003", 0.5)]]
    engine.run(batches, max_epochs=1)
    report = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert report["name"] == "Test net" and report["n_images"] == 3
    assert report["metrics"] == {"delta1": pytest.approx(1 / 3), "abs_rel": pytest.approx(1 / 3)}  # 0, 0.5, 0.5
    assert report["metrics_aligned"] == {"aligned_abs_rel": pytest.approx(0.0, abs=1e-4)}  # a scale is aligned away
    assert [r["image"] for r in report["per_image"]] == [f"/data/images/case_000{i}.png" for i in (1, 2, 3)]
    assert [r["delta1"] for r in report["per_image"]] == [1.0, 0.0, 0.0]  # half the depth: a ratio of 2
    table = (tmp_path / "eval" / "metrics.md").read_text()
    assert "| Method | Abs Rel | RMSE |" in table and "| Test net | 0.3333 | - |" in table
    assert Image.open(tmp_path / "eval" / "samples.png").size[0] > 4 * 8  # photo | truth | prediction | error


def test_no_report_without_images_or_details(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    engine = _evaluator()
    DepthEvaluationReport(str(tmp_path / "eval")).attach(engine)  # no metric handler saved details
    with caplog.at_level(logging.WARNING, logger="monai_gamanet.handlers.report"):
        engine.run([[_sample("case_0001", 1.0)]], max_epochs=1)
    assert "no report written" in caplog.text and not (tmp_path / "eval").exists()
