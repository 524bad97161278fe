"""Serial-mode scenarios: readers who join at a given instant, ticks over simulated days,
and what each reader received, when, and what their mail said.

The tick runs in the test process at the simulated time (`tick_now(t)`); a real worker
process sends what it publishes to the SMTP sink. Nothing sleeps through real days.
"""

from __future__ import annotations

import datetime as dt
import re
from email.message import EmailMessage

from sqlalchemy import select

from newsletter.core.db.models import Delivery, Issue, Subscriber, Subscription
from newsletter.core.db.session import transaction
from newsletter.core.tokens import make_token
from newsletter.delivery.tasks import tick_now
from newsletter.subscribers import service
from tests.support.clock import Clock
from tests.support.ledger import settled, wait_until
from tests.support.mail import body, parse
from tests.support.smtp_sink import SmtpSink

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
_PART = re.compile(r"PART (\d+) OF (\d+)")


def join(
    clock: Clock, at: dt.datetime, email: str, slug: str, tz: str | None = None
) -> tuple[int, int]:
    """Sign up through the form's path (with the browser zone `tz`) and confirm at `at`.
    Returns (subscriber id, series id)."""
    clock.now = at
    with transaction() as session:
        result = service.signup(session, email, "", slug, timezone=tz)
    with transaction() as session:
        service.confirm(session, make_token("confirm", result.subscriber_id, result.series_id))
    return result.subscriber_id, result.series_id


def drive(clock: Clock, start: dt.datetime, end: dt.datetime, step: dt.timedelta = HOUR) -> int:
    """Tick every `step` from `start` to `end` inclusive at the simulated time; after each
    tick that published anything, wait until the worker has sent it. Returns ticks run."""
    t, ticks = start, 0
    while t <= end:
        clock.now = t
        result = tick_now(t)
        if result.batches:
            wait_until(settled)
        t += step
        ticks += 1
    return ticks


def released(subscriber_id: int) -> list[tuple[int, int, dt.datetime]]:
    """(part, round, when released) of every delivery of a reader, in order."""
    with transaction() as session:
        rows = session.execute(
            select(Issue.number, Delivery.round, Delivery.created_at)
            .join(Issue, Issue.id == Delivery.issue_id)
            .where(Delivery.subscriber_id == subscriber_id)
            .order_by(Delivery.created_at, Delivery.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def subscription(subscriber_id: int, series_id: int) -> Subscription:
    with transaction() as session:
        sub = session.scalars(
            select(Subscription).where(
                Subscription.subscriber_id == subscriber_id, Subscription.series_id == series_id
            )
        ).one()
        session.expunge(sub)
        return sub


def address(subscriber_id: int) -> str:
    with transaction() as session:
        return session.get_one(Subscriber, subscriber_id).email or ""


def issues_to(sink: SmtpSink, email: str) -> list[EmailMessage]:
    """The newsletters (not confirmations) `email` received, in arrival order."""
    found = []
    for _, rcpts, data in sink.messages:
        msg = parse(data)
        if email in rcpts and _PART.search(body(msg, "plain")):
            found.append(msg)
    return found


def part_of(msg: EmailMessage) -> int:
    match = _PART.search(body(msg, "plain"))
    assert match, "no 'PART N OF M' line"
    return int(match.group(1))
