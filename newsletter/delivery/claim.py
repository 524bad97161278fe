"""Leases on delivery rows: release expired ones, claim pending ones, close finished issues.

A row is `queued` once a tick has claimed it for a broker message, `sending` once a worker
has claimed it for SMTP; both carry `lease_until`. A lease that runs out means the message
or the worker was lost, so the row goes back to `pending` and a later tick hands it out
again. Services take a Session and never commit; `tick` owns the transactions.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from newsletter.core.db import dialect
from newsletter.core.db.models import (
    Delivery,
    DeliveryStatus,
    Issue,
    IssueStatus,
    Series,
    SeriesStatus,
)

DELIVERY = Delivery.__table__
ISSUE = Issue.__table__
LEASED = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)
OPEN = (DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.SENDING)


def release_expired(session: Session, now: dt.datetime, max_attempts: int) -> tuple[int, int]:
    """Expired leases back to pending; rows that already used every attempt fail instead.

    A row that keeps dying mid-send (say it crashes the worker) must not loop forever.
    Returns (released, failed). Uses the (status, lease_until) index.
    """
    expired = and_(DELIVERY.c.status.in_(LEASED), DELIVERY.c.lease_until < now)
    failed = session.execute(
        update(DELIVERY)
        .where(expired, DELIVERY.c.attempts >= max_attempts)
        .values(
            status=DeliveryStatus.FAILED,
            lease_until=None,
            last_error=f"lease expired after {max_attempts} attempts (worker lost)",
        )
    ).rowcount
    released = session.execute(
        update(DELIVERY).where(expired).values(status=DeliveryStatus.PENDING, lease_until=None)
    ).rowcount
    return released, failed


def claim_pending(
    session: Session, now: dt.datetime, batch_size: int, lease_until: dt.datetime
) -> list[int]:
    """Claim up to `batch_size` due pending rows as `queued`; one statement either way.

    PostgreSQL: the inner SELECT … FOR UPDATE SKIP LOCKED lets concurrent ticks take
    disjoint rows without waiting. SQLite: the statement holds the database write lock,
    and the repeated `status = 'pending'` makes the UPDATE its own compare-and-set.
    Deliveries of paused series stay pending.
    """
    paused_issues = (
        select(Issue.id)
        .join(Series, Series.id == Issue.series_id)
        .where(Series.status == SeriesStatus.PAUSED)
    )
    due = (
        select(DELIVERY.c.id)
        .where(
            DELIVERY.c.status == DeliveryStatus.PENDING,
            DELIVERY.c.next_attempt_at <= now,
            DELIVERY.c.issue_id.not_in(paused_issues),
        )
        .order_by(DELIVERY.c.next_attempt_at)
        .limit(batch_size)
    )
    stmt = update(DELIVERY).values(status=DeliveryStatus.QUEUED, lease_until=lease_until)
    if dialect.is_postgres(session):
        # A materialised CTE, not `IN (subquery)`: PostgreSQL may rescan an IN subquery per
        # outer row, and a rescan with SKIP LOCKED sees fresh rows and overshoots the LIMIT.
        locked = (
            due.with_for_update(skip_locked=True, of=DELIVERY)
            .cte("due")
            .prefix_with("MATERIALIZED")
        )
        stmt = stmt.where(DELIVERY.c.id == locked.c.id)
    else:
        stmt = stmt.where(
            DELIVERY.c.id.in_(due.scalar_subquery()),
            DELIVERY.c.status == DeliveryStatus.PENDING,
        )
    rows = session.execute(stmt.returning(DELIVERY.c.id))
    return sorted(rows.scalars())


def count_claimed(session: Session) -> int:
    """Rows currently handed out (queued or sending); two index range counts."""
    return (
        session.scalar(
            select(func.count()).select_from(DELIVERY).where(DELIVERY.c.status.in_(LEASED))
        )
        or 0
    )


def complete_issues(session: Session, now: dt.datetime) -> list[int]:
    """Mark broadcast issues `sent` once none of their deliveries is still open.

    Probes the (issue_id, status) index for the three open statuses, so it stays cheap
    while an issue of 100k rows is mostly done.
    """
    still_open = exists().where(DELIVERY.c.issue_id == ISSUE.c.id, DELIVERY.c.status.in_(OPEN))
    rows = session.execute(
        update(ISSUE)
        .where(ISSUE.c.status == IssueStatus.SENDING, ~still_open)
        .values(status=IssueStatus.SENT, completed_at=now)
        .returning(ISSUE.c.id)
    )
    return sorted(rows.scalars())
