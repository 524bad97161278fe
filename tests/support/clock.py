"""A clock tests can move: it replaces `models.utcnow` (tokens, rate limits, schedules)."""

from __future__ import annotations

import datetime as dt


class Clock:
    """Replaces `models.utcnow` so tests can move time (tokens, rate limits, schedules)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)
