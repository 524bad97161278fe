"""Fixtures for persistence tests: a controllable clock, a small series, captured mail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from newsletter import content
from newsletter.core.db import models
from newsletter.core.db.models import Mail, MailStatus
from newsletter.core.db.session import transaction
from newsletter.scheduling.series import create_series
from newsletter.subscribers import tasks


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


def make_content(slug: str = "labor", parts: int = 3) -> content.Series:
    essays = tuple(
        content.Essay(
            number=n,
            title=f"Essay {n}",
            slug=f"essay-{n}",
            blocks=(
                content.Block("paragraph", f"First paragraph of essay {n}."),
                content.Block("pull_quote", f"A quote from {n}."),
            ),
        )
        for n in range(1, parts + 1)
    )
    return content.Series(
        slug=slug, title="Tech Labor", essays=essays, description="About work.", author="Ed"
    )


def add_series(slug: str = "labor", mode: str = "broadcast", parts: int = 3) -> int:
    with transaction() as session:
        series = create_series(
            session,
            slug,
            make_content(slug, parts),
            "weekly",
            dt.datetime(2026, 12, 1, 9, 0),
            "Europe/Berlin",
            mode,
        )
        return series.id


@pytest.fixture
def series_id(db: str, clock: Clock) -> int:
    return add_series()


@pytest.fixture
def serial_id(db: str, clock: Clock) -> int:
    return add_series("serial-labor", mode="serial")


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """Confirmation mails woken for (after commit) as (subscriber_id, series_id); a stand-in
    worker marks their outbox rows sent at once, at the test clock's time."""
    calls: list[tuple[int, int]] = []

    def deliver(mail_ids: list[int]) -> bool:
        with transaction() as session:
            rows = session.execute(
                select(Mail.subscriber_id, Mail.series_id)
                .where(Mail.id.in_(mail_ids))
                .order_by(Mail.id)
            )
            calls.extend((sub, ser) for sub, ser in rows)
            session.execute(
                update(Mail)
                .where(Mail.id.in_(mail_ids))
                .values(status=MailStatus.SENT, sent_at=models.utcnow())
            )
        return True

    monkeypatch.setattr(tasks, "wake", deliver)
    yield calls
