"""Handlers under ``torchrun``: which of a bundle's handlers each rank runs."""

from __future__ import annotations

from collections.abc import Sequence

from monai.handlers import StatsHandler, TensorBoardStatsHandler

__all__ = ["LOGGING_HANDLERS", "handlers_for_rank"]

LOGGING_HANDLERS = (StatsHandler, TensorBoardStatsHandler)  # one log and one TensorBoard file: rank 0's


def handlers_for_rank(handlers: Sequence, rank: int) -> list:
    """The handlers ``rank`` runs: all of them on rank 0; on the other ranks all but the logging ones
    (:data:`LOGGING_HANDLERS`, chosen by type, wherever they stand in the list)."""
    if rank == 0:
        return list(handlers)
    return [h for h in handlers if not isinstance(h, LOGGING_HANDLERS)]
