"""ResumableCheckpoint: continue last.pt on purpose only; a fresh run keeps weights loaded before it (fine-tuning)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from ignite.engine import Engine, Events

from monai_gamanet.handlers import ResumableCheckpoint


def _train(root: Path, epochs: int, data: list[str], resume: object = "auto", before=None) -> tuple[Engine, dict]:
    """A tiny real training loop (one Adam step per item) with the handler attached, as the bundle attaches it."""
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    opt = torch.optim.Adam(net.parameters(), 1e-2)

    def step(engine: Engine, batch: torch.Tensor) -> float:
        opt.zero_grad()
        loss = net(batch).pow(2).mean()
        loss.backward()
        opt.step()
        return float(loss.detach())

    engine = Engine(step)
    if before is not None:  # e.g. MONAI Label's CheckpointLoader of models/model.pt, first in the handler list
        engine.add_event_handler(Events.STARTED, before, net)
    handler = ResumableCheckpoint(str(root), {"network": net, "optimizer": opt}, resume=resume, fingerprint=data)
    handler.attach(engine)
    engine.run([torch.rand(4, 3) for _ in data], max_epochs=epochs)
    return engine, {"net": net, "handler": handler}


def _log(caplog: pytest.LogCaptureFixture) -> str:
    return " ".join(r.getMessage() for r in caplog.records)


def test_same_run_with_more_epochs_resumes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = ["a.png", "b.png"]
    _train(tmp_path, 2, data)
    with caplog.at_level(logging.INFO):
        engine, _ = _train(tmp_path, 3, data)
    assert "resumed from" in _log(caplog) and engine.state.iteration == 3 * len(data)


def test_other_data_or_finished_run_starts_afresh(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _train(tmp_path, 2, ["a.png", "b.png"])
    with caplog.at_level(logging.INFO):
        engine, _ = _train(tmp_path, 3, ["c.png", "d.png"])
    assert "another network, other data" in _log(caplog) and engine.state.iteration == 3 * 2
    caplog.clear()
    with caplog.at_level(logging.INFO):
        engine, _ = _train(tmp_path, 3, ["c.png", "d.png"])  # the same budget again: that run has finished
    assert "already trained 3 of the 3 epochs" in _log(caplog) and engine.state.iteration == 3 * 2


def test_resume_true_continues_whatever_the_data(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _train(tmp_path, 2, ["a.png", "b.png"])
    with caplog.at_level(logging.INFO):
        engine, _ = _train(tmp_path, 3, ["c.png", "d.png"], resume="true")
    assert "resumed from" in _log(caplog) and engine.state.iteration == 3 * 2
    with pytest.raises(ValueError, match="resume must be"):
        ResumableCheckpoint(str(tmp_path), {}, resume="maybe")


def test_fresh_run_keeps_weights_loaded_before_it(tmp_path: Path) -> None:
    """MONAI Label's BundleTrainTask loads models/model.pt first; a fresh run must fine-tune from it."""
    _train(tmp_path, 2, ["a.png"])
    pretrained = {"weight": torch.full((1, 3), 5.0), "bias": torch.zeros(1)}
    loaded = []

    def load_pretrained(engine: Engine, net: torch.nn.Module) -> None:
        net.load_state_dict(pretrained)
        loaded.append(True)

    _, parts = _train(tmp_path, 1, ["new.png"], before=load_pretrained)  # other data: not resumed
    assert loaded and torch.allclose(parts["net"].weight, torch.full((1, 3), 5.0), atol=0.05)  # one small step


def test_resume_false_never_loads(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _train(tmp_path, 1, ["a.png"])
    with caplog.at_level(logging.INFO):
        engine, _ = _train(tmp_path, 2, ["a.png"], resume=False)
    assert "resumed" not in _log(caplog) and engine.state.iteration == 2


def test_a_resumed_run_replaces_the_best_model_only_with_a_better_one(tmp_path: Path) -> None:
    """The best-model saver's record of the best score is kept in last.pt: after a resume a worse validation score
    leaves model.pt alone, as it would in a run that was never interrupted."""
    from monai.handlers import CheckpointSaver

    def run(epochs: int, scores: list[float]) -> torch.nn.Module:
        torch.manual_seed(len(scores))
        net = torch.nn.Linear(3, 1)
        trainer = Engine(lambda engine, batch: 0.0)
        evaluator = Engine(lambda engine, batch: 0.0)
        evaluator.state.metrics = {}
        saver = CheckpointSaver(str(tmp_path), {"model": net}, save_key_metric=True, key_metric_filename="model.pt")
        saver.attach(evaluator)
        ResumableCheckpoint(str(tmp_path), {"network": net}, fingerprint="run", best_saver=saver).attach(trainer)

        @trainer.on(Events.EPOCH_COMPLETED)
        def validate(engine: Engine) -> None:
            with torch.no_grad():
                net.weight.fill_(engine.state.epoch)  # the weights of this epoch
            evaluator.state.key_metric_name = "val_dice"
            evaluator.state.metrics = {"val_dice": scores[engine.state.epoch - 1]}
            evaluator.state.epoch = engine.state.epoch
            evaluator.fire_event(Events.EPOCH_COMPLETED)

        trainer.run([0], max_epochs=epochs)
        return net

    run(2, [0.2, 0.6])  # best: epoch 2
    run(3, [0.2, 0.6, 0.4])  # resumed: epoch 3 is worse
    best = torch.load(tmp_path / "model.pt", weights_only=True)
    assert torch.all(best["weight"] == 2.0)  # still epoch 2's network
