"""The app's HTTP refusal: a 4xx (or 503) with ``{"detail": "<what is wrong>"}``, raised anywhere in the app."""

from __future__ import annotations

from fastapi import HTTPException

__all__ = ["Refused"]


class Refused(HTTPException):
    """A request refused with a 4xx status and a message naming the problem (FastAPI answers it as such)."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(status_code=status_code, detail=detail)
