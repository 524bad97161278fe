"""Turn due work into Delivery rows: broadcast fan-out and serial-mode progress.

Both paths *claim* their work with a conditional UPDATE and check the row count before
inserting anything, so two ticks running at once never both create the same rows (the
UNIQUE(issue_id, subscriber_id) pair and ON CONFLICT DO NOTHING are the second line of
defence). Services here take a Session and never commit; `tick` owns the transactions.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import DateTime, Integer, String, literal, select, update
from sqlalchemy.orm import Session

from newsletter.core.db.dialect import insert_ignoring_conflicts
from newsletter.core.db.models import (
    Delivery,
    DeliveryStatus,
    Issue,
    IssueStatus,
    Series,
    SeriesStatus,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from newsletter.scheduling.cadence import next_due

log = logging.getLogger(__name__)

DELIVERY = Delivery.__table__
ISSUE = Issue.__table__
SUBSCRIPTION = Subscription.__table__
NEW_DELIVERY_COLUMNS = ("issue_id", "subscriber_id", "status", "attempts", "created_at")


def due_broadcast_issues(session: Session, now: dt.datetime) -> list[int]:
    """Ids of broadcast issues whose time has come, in active series (index on status)."""
    return list(
        session.scalars(
            select(Issue.id)
            .join(Series, Series.id == Issue.series_id)
            .where(
                Issue.status == IssueStatus.SCHEDULED,
                Issue.scheduled_at <= now,
                Series.status == SeriesStatus.ACTIVE,
            )
            .order_by(Issue.scheduled_at, Issue.id)
        )
    )


def fan_out_issue(session: Session, issue_id: int, now: dt.datetime) -> int | None:
    """Create a pending Delivery for every active subscriber of the issue's series.

    Returns the number of rows created, or None when another tick claimed the issue first.
    One INSERT … SELECT, so 100k subscribers cost one statement, not 100k.
    """
    claimed = session.execute(
        update(ISSUE)
        .where(ISSUE.c.id == issue_id, ISSUE.c.status == IssueStatus.SCHEDULED)
        .values(status=IssueStatus.SENDING, fanned_out_at=now)
        .returning(ISSUE.c.series_id)
    ).first()
    if claimed is None:
        return None
    recipients = (
        select(
            literal(issue_id, Integer()),
            Subscription.subscriber_id,
            literal(DeliveryStatus.PENDING, String()),
            literal(0, Integer()),
            literal(now, DateTime()),
            literal(now, DateTime()),
        )
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            Subscription.series_id == claimed.series_id,
            Subscription.status == SubscriptionStatus.ACTIVE,
            Subscriber.status == SubscriberStatus.ACTIVE,
        )
    )
    stmt = insert_ignoring_conflicts(
        session, DELIVERY, "issue_id", "subscriber_id", "round"
    ).from_select([*NEW_DELIVERY_COLUMNS, "next_attempt_at"], recipients)
    created = session.execute(stmt).rowcount
    log.info("issue %s fanned out: %s deliveries", issue_id, created)
    return created


@dataclass(frozen=True)
class DueSubscription:
    id: int
    subscriber_id: int
    series_id: int
    next_part: int
    next_due_at: dt.datetime
    cadence: str
    timezone: str


def due_serial_subscriptions(
    session: Session, now: dt.datetime, limit: int
) -> list[DueSubscription]:
    """Active serial subscriptions whose next part is due (index on status, next_due_at)."""
    rows = session.execute(
        select(
            Subscription.id,
            Subscription.subscriber_id,
            Subscription.series_id,
            Subscription.next_part,
            Subscription.next_due_at,
            Series.cadence,
            Series.timezone,
        )
        .join(Series, Series.id == Subscription.series_id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            Subscription.status == SubscriptionStatus.ACTIVE,
            Subscription.next_due_at <= now,
            Series.mode == "serial",
            Series.status == SeriesStatus.ACTIVE,
            Subscriber.status == SubscriberStatus.ACTIVE,
        )
        .order_by(Subscription.next_due_at, Subscription.id)
        .limit(limit)
    )
    return [DueSubscription(*row) for row in rows]


def _parts(session: Session, series_ids: set[int]) -> dict[tuple[int, int], int]:
    """(series_id, number) → issue id for the given serial series."""
    rows = session.execute(
        select(Issue.series_id, Issue.number, Issue.id).where(Issue.series_id.in_(series_ids))
    )
    return {(series_id, number): issue_id for series_id, number, issue_id in rows}


def _following_due(sub: DueSubscription, now: dt.datetime) -> dt.datetime:
    """One cadence interval after the part just released.

    Counted from when it was due, so a late tick does not shift the subscriber's schedule;
    but if even that is already past (the scheduler was down for a while), counted from now,
    so a subscriber never gets a burst of parts to catch up.
    """
    following = next_due(sub.next_due_at, sub.cadence, sub.timezone)
    return following if following > now else next_due(now, sub.cadence, sub.timezone)


def advance_serial(session: Session, subs: list[DueSubscription], now: dt.datetime) -> int:
    """Release each subscription's due part as a Delivery and move its progress on.

    The conditional UPDATE on (id, next_part) is the claim: a concurrent tick that read the
    same row finds next_part already moved and creates nothing. Returns deliveries created.
    """
    if not subs:
        return 0
    parts = _parts(session, {s.series_id for s in subs})
    totals: dict[int, int] = {}
    for series_id, number in parts:
        totals[series_id] = max(totals.get(series_id, 0), number)
    created = 0
    insert = insert_ignoring_conflicts(session, DELIVERY, "issue_id", "subscriber_id", "round")
    for sub in subs:
        issue_id = parts.get((sub.series_id, sub.next_part))
        last = sub.next_part >= totals.get(sub.series_id, 0)
        values = (
            {"status": SubscriptionStatus.FINISHED, "next_due_at": None}
            if last
            else {"next_due_at": _following_due(sub, now)}
        )
        claimed = session.execute(
            update(SUBSCRIPTION)
            .where(
                SUBSCRIPTION.c.id == sub.id,
                SUBSCRIPTION.c.next_part == sub.next_part,
                SUBSCRIPTION.c.status == SubscriptionStatus.ACTIVE,
            )
            .values(next_part=SUBSCRIPTION.c.next_part + (1 if issue_id else 0), **values)
        ).rowcount
        if claimed != 1 or issue_id is None:
            continue
        created += session.execute(
            insert.values(
                issue_id=issue_id,
                subscriber_id=sub.subscriber_id,
                status=DeliveryStatus.PENDING,
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
        ).rowcount
    return created
