"""Fixtures for persistence tests: a controllable clock, a small series, captured mail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from newsletter.core.db import models
from newsletter.subscribers import tasks
from tests.support.factories import add_series


class Clock:
    """Replaces `models.utcnow` so tests can move time (tokens, rate limits, schedules)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(dt.datetime(2026, 11, 20, 12, 0))
    monkeypatch.setattr(models, "utcnow", fake)
    return fake


@pytest.fixture
def series_id(db: str, clock: Clock) -> int:
    return add_series()


@pytest.fixture
def serial_id(db: str, clock: Clock) -> int:
    return add_series("serial-labor", mode="serial")


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """Confirmation mails requested (after commit) as (subscriber_id, series_id)."""
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(tasks, "queue_confirmation", lambda a, b: calls.append((a, b)) or True)
    yield calls
