"""Read model: what goes out in the next 24 hours, per series and part, and to how many.

The operator view (`monitor`) carries it to the dashboard, `newsletter status` and its
JSON, so an operator sees tomorrow's load before it lands: serial readers due on their own
clocks, and broadcast parts times their readers. Read-only; kept beside `queries` so that
module stays short.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.core.db import models
from newsletter.core.db.models import (
    Issue,
    IssueStatus,
    Series,
    SeriesStatus,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)

DUE_WINDOW = dt.timedelta(hours=24)


@dataclass
class DueSoon:
    """One part of one series and how many readers it goes to within the window.

    Serial (and broadcast late joiners catching up): active subscriptions whose next part
    is due by then, overdue ones included (the next tick sends them); each reader counts
    once, for their next part. Broadcast: a scheduled part × the readers its fan-out
    would take now.
    """

    series_slug: str
    series_title: str
    mode: str
    number: int
    readers: int
    first_due_at: dt.datetime  # naive UTC; the earliest of these readers' due times


def due_soon(
    session: Session, now: dt.datetime | None = None, window: dt.timedelta = DUE_WINDOW
) -> list[DueSoon]:
    """What goes out between now and `now + window`, per series and part, soonest first.

    Two grouped reads on the (status, next_due_at) and (status, scheduled_at) indexes and
    one count of each broadcast series' readers; paused readers and series are left out.
    """
    until = (now or models.utcnow()) + window
    readers = (
        select(Subscription.series_id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            Subscription.status == SubscriptionStatus.ACTIVE,
            Subscriber.status == SubscriberStatus.ACTIVE,
        )
    )
    own_clock = session.execute(
        readers.with_only_columns(
            Subscription.series_id,
            Subscription.next_part,
            func.count(),
            func.min(Subscription.next_due_at),
        )
        .join(Series, Series.id == Subscription.series_id)
        .join(
            Issue,
            (Issue.series_id == Subscription.series_id) & (Issue.number == Subscription.next_part),
        )
        .where(
            Subscription.next_due_at <= until,
            Series.status.in_((SeriesStatus.ACTIVE, SeriesStatus.FINISHED)),
        )
        .group_by(Subscription.series_id, Subscription.next_part)
    ).all()
    scheduled = session.execute(
        select(Issue.series_id, Issue.number, Issue.scheduled_at)
        .join(Series, Series.id == Issue.series_id)
        .where(
            Issue.status == IssueStatus.SCHEDULED,
            Issue.scheduled_at <= until,
            Series.status == SeriesStatus.ACTIVE,
        )
    ).all()
    level: dict[int, int] = {}
    if scheduled:
        level = dict(
            session.execute(
                readers.with_only_columns(Subscription.series_id, func.count())
                .where(
                    Subscription.series_id.in_({row[0] for row in scheduled}),
                    Subscription.next_due_at.is_(None),
                )
                .group_by(Subscription.series_id)
            ).all()
        )
    rows = [(s, n, int(count), at) for s, n, count, at in own_clock]
    rows += [(s, n, int(level.get(s, 0)), at) for s, n, at in scheduled]
    return _named(session, rows)


def _named(session: Session, rows: list[tuple[int, int, int, dt.datetime]]) -> list[DueSoon]:
    """`DueSoon` rows with their series' slug, title and mode, soonest first."""
    if not rows:
        return []
    series = {
        row.id: row
        for row in session.execute(
            select(Series.id, Series.slug, Series.title, Series.mode).where(
                Series.id.in_({r[0] for r in rows})
            )
        )
    }
    found = [
        DueSoon(series[s].slug, series[s].title, series[s].mode, number, readers, at)
        for s, number, readers, at in rows
    ]
    return sorted(found, key=lambda d: (d.first_due_at, d.series_slug, d.number))
