"""Under torchrun the logging handlers run on rank 0 only, found by type, not by their place in the list."""

from __future__ import annotations

import torch
from monai.handlers import CheckpointSaver, StatsHandler, TensorBoardStatsHandler, ValidationHandler

from monai_gamanet.handlers.distributed import handlers_for_rank


def test_other_ranks_drop_the_logging_handlers_wherever_they_are(tmp_path) -> None:
    saver = CheckpointSaver(str(tmp_path), {"model": torch.nn.Linear(1, 1)}, save_final=True)
    validation = ValidationHandler(interval=1, validator=None)
    handlers = [StatsHandler(), saver, TensorBoardStatsHandler(str(tmp_path)), validation]
    assert handlers_for_rank(handlers, 0) == handlers
    assert handlers_for_rank(handlers, 1) == [saver, validation]
