"""What is due in the next 24 hours, per series and part: the read model, the operator view,
`newsletter status` (tables and JSON), on both backends."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import update

from newsletter.core.db.models import (
    SeriesStatus,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from newsletter.core.db.session import transaction
from newsletter.delivery import monitor
from newsletter.delivery.upcoming import due_soon
from tests.support.cli import ok
from tests.support.clock import Clock
from tests.support.factories import add_subscribers, make_series

pytestmark = pytest.mark.usefixtures("private_celery_app")


def _hours(clock: Clock, hours: float) -> dt.datetime:
    return clock.now + dt.timedelta(hours=hours)


def _readers(clock: Clock) -> None:
    """Serial readers on their own clocks, a weekly broadcast with a late joiner catching
    up, and what must not count: later, paused, suppressed, a paused series."""
    with transaction() as session:
        serial = make_series(session, "serial", 3, mode="serial")
        add_subscribers(session, serial, 3, next_due_at=_hours(clock, 1))
        add_subscribers(session, serial, 2, next_due_at=_hours(clock, -0.25))  # overdue
        moved = add_subscribers(session, serial, 2, next_due_at=_hours(clock, -0.25))
        session.execute(
            update(Subscription).where(Subscription.subscriber_id.in_(moved)).values(next_part=2)
        )
        add_subscribers(session, serial, 1, next_due_at=_hours(clock, 25))  # tomorrow's
        add_subscribers(session, serial, 1, next_due_at=_hours(clock, 1),
                        subscription_status=SubscriptionStatus.PAUSED)  # fmt: skip
        add_subscribers(session, serial, 1, next_due_at=_hours(clock, 1),
                        status=SubscriberStatus.BOUNCED)  # fmt: skip
        weekly = make_series(
            session, "weekly", 3, start=dt.datetime(2026, 11, 14, 9), cadence="weekly",
            published=1,
        )  # fmt: skip
        add_subscribers(session, weekly, 4)
        (late,) = add_subscribers(session, weekly, 1)
        session.execute(
            update(Subscription)
            .where(Subscription.subscriber_id == late)
            .values(next_due_at=_hours(clock, 3))
        )
        add_subscribers(session, weekly, 1, subscription_status=SubscriptionStatus.PAUSED)
        held = make_series(session, "held", 1, start=dt.datetime(2026, 11, 20, 18),
                           status=SeriesStatus.PAUSED)  # fmt: skip
        add_subscribers(session, held, 2)


EXPECTED = [
    ("serial", "serial", 1, 5, dt.datetime(2026, 11, 20, 11, 45)),  # 2 overdue, 3 in 1 h
    ("serial", "serial", 2, 2, dt.datetime(2026, 11, 20, 11, 45)),
    ("weekly", "broadcast", 1, 1, dt.datetime(2026, 11, 20, 15, 0)),
    ("weekly", "broadcast", 2, 4, dt.datetime(2026, 11, 21, 9, 0)),
]


def _rows(found) -> list[tuple]:
    return [(d.series_slug, d.mode, d.number, d.readers, d.first_due_at) for d in found]


def test_due_soon_counts_readers_per_series_and_part(db, clock) -> None:
    _readers(clock)
    with transaction() as session:
        assert _rows(due_soon(session, clock.now)) == EXPECTED
        assert due_soon(session, clock.now - dt.timedelta(days=30)) == []
        view = monitor.operator_view(session, broker=False)
    assert _rows(view.due_soon) == EXPECTED  # at the clock's time, like the read model
    data = view.to_dict()
    assert data["due_soon"][-1] == {
        "series_slug": "weekly",
        "series_title": "Weekly Letters",
        "mode": "broadcast",
        "number": 2,
        "readers": 4,
        "first_due_at": "2026-11-21T09:00:00",
    }


def test_status_shows_what_is_due(db, clock) -> None:
    _readers(clock)
    data = json.loads(ok("status", "--json"))
    assert [(d["series_slug"], d["number"], d["readers"]) for d in data["due_soon"]] == [
        (slug, number, readers) for slug, _, number, readers, _ in EXPECTED
    ]
    tables = ok("status")
    assert "Due in 24 hours" in tables and "2026-11-21 09:00" in tables
