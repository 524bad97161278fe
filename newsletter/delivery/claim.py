"""Leases on delivery rows: every claim, by the tick and by the worker, and their release.

A row is `queued` once a tick has claimed it for a broker message (`claim_pending`),
`sending` once a worker has claimed it for SMTP (`claim_batch`); both carry `lease_until`.
A lease that runs out means the message or the worker was lost, so the row goes back to
`pending` and a later tick hands it out again. Services take a Session and never commit;
callers own the transactions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    CTE,
    Row,
    Select,
    Subquery,
    Update,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from newsletter.core.db import dialect
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
    utcnow,
)
from newsletter.core.settings import Settings
from newsletter.delivery import control
from newsletter.delivery.compose import Recipient
from newsletter.delivery.identity import Identity
from newsletter.mail.message import make_message_id
from newsletter.render import RenderedIssue

DELIVERY = Delivery.__table__
ISSUE = Issue.__table__
LEASED = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)
# A subscription that is finished still receives the part that finished it (serial mode).
RECEIVING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.FINISHED)


def _paused_issues() -> Select[tuple[int]]:
    """Issues of paused series, and issues their brake holds (`brakes`): their deliveries
    stay where they are until `resume`."""
    return (
        select(Issue.id)
        .join(Series, Series.id == Issue.series_id)
        .where(or_(Series.status == SeriesStatus.PAUSED, Issue.braked_at.is_not(None)))
    )


def claim_pending(
    session: Session, now: dt.datetime, batch_size: int, lease_until: dt.datetime
) -> list[int]:
    """Claim up to `batch_size` due pending rows as `queued`; one statement either way.

    PostgreSQL: the inner SELECT … FOR UPDATE SKIP LOCKED lets concurrent ticks take
    disjoint rows without waiting. SQLite: the statement holds the database write lock,
    and the repeated `status = 'pending'` makes the UPDATE its own compare-and-set.
    Deliveries of paused series stay pending.
    """
    due = (
        select(DELIVERY.c.id)
        .where(
            DELIVERY.c.status == DeliveryStatus.PENDING,
            DELIVERY.c.next_attempt_at <= now,
            DELIVERY.c.issue_id.not_in(_paused_issues()),
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
    still_open = exists().where(
        DELIVERY.c.issue_id == ISSUE.c.id, DELIVERY.c.status.in_(DeliveryStatus.OPEN)
    )
    rows = session.execute(
        update(ISSUE)
        .where(ISSUE.c.status == IssueStatus.SENDING, ~still_open)
        .values(status=IssueStatus.SENT, completed_at=now)
        .returning(ISSUE.c.id)
    )
    return sorted(rows.scalars())


@dataclass
class Claim:
    """What one worker batch took: its recipients as they are now, and its lease."""

    recipients: list[Recipient] = field(default_factory=list)
    issues: dict[int, RenderedIssue] = field(default_factory=dict)
    attempts: dict[int, int] = field(default_factory=dict)
    lease_until: dt.datetime | None = None
    skipped: int = 0
    released: int = 0


def claim_batch(
    session: Session,
    delivery_ids: list[int],
    settings: Settings,
    identity: Identity,
    worker: str | None = None,
    lease_until: dt.datetime | None = None,
) -> Claim:
    """`queued → sending` for the rows still queued; skip those whose reader has left.

    The Message-ID is written with the claim, so the ledger names every message that may
    have left, even one whose 250 never came back. PostgreSQL claims, stores the ids and
    reads the recipients in one statement (the claim as a CTE); SQLite has no DML in CTEs,
    so it runs the same claim, then the id update, then the same recipient query.
    `worker` (the heartbeat id) marks whose claim it is, so a tick can release it the
    moment that worker's heartbeat stops. `lease_until` (default: now + the lease) is
    also the claim's token: a caller whose commit failed can release exactly its rows.
    """
    claim = Claim()
    if not delivery_ids:
        return claim
    if control.is_paused(session):
        claim.released = unqueue(session, delivery_ids)
        return claim
    claim.lease_until = lease_until or utcnow() + dt.timedelta(seconds=settings.lease_seconds)
    secret = settings.secret()
    mids = [make_message_id(i, identity.domain, secret=secret) for i in delivery_ids]
    params = {"ids": delivery_ids, "mids": mids, "worker": worker}
    if dialect.is_postgres(session):
        stmt = _recipients(_to_sending(claim.lease_until, with_message_ids=True).cte("claimed"))
        rows = session.execute(stmt, params).all()
    else:
        claimed = session.execute(_to_sending(claim.lease_until), params).all()
        _store_message_ids(session, claimed, dict(zip(delivery_ids, mids, strict=True)))
        ids = [row.id for row in claimed]
        rows = session.execute(_recipients(_rows(ids).subquery("claimed"))).all() if ids else []
    if len(rows) < len(delivery_ids):
        claim.released = unqueue(session, delivery_ids)  # rows of paused series
    if rows:
        claim.attempts = {r.id: r.attempts for r in rows}
        _take_recipients(session, claim, rows)
    return claim


_CLAIMED = (
    DELIVERY.c.id,
    DELIVERY.c.subscriber_id,
    DELIVERY.c.issue_id,
    DELIVERY.c.message_id,
    DELIVERY.c.attempts,
)


def _to_sending(lease_until: dt.datetime, *, with_message_ids: bool = False) -> Update:
    """The worker's claim: rows still `queued` and not of a paused series.

    Written so PostgreSQL plans index lookups by key even on a table whose statistics
    predate a 100k fan-out: `= ANY(array)` on the primary key (a join on unnest() let the
    planner scan every queued row per batch). The Message-ID is computed in Python (it is
    keyed) and picked from the `mids` array by the row's position in `ids`.
    """
    values: dict[str, Any] = {}
    if with_message_ids:
        picked = dialect.any_of(DELIVERY.c.id, "ids")
        mid = dialect.item_at("mids", "ids", DELIVERY.c.id)
        values["message_id"] = func.coalesce(DELIVERY.c.message_id, mid)
    else:
        picked = DELIVERY.c.id.in_(bindparam("ids", expanding=True))
    return (
        update(DELIVERY)
        .where(
            picked,
            DELIVERY.c.status == DeliveryStatus.QUEUED,
            DELIVERY.c.issue_id.not_in(_paused_issues()),
        )
        .values(
            status=DeliveryStatus.SENDING,
            lease_until=lease_until,
            attempts=DELIVERY.c.attempts + 1,
            claimed_by=bindparam("worker"),
            **values,
        )
        .returning(*_CLAIMED)
    )


def _rows(ids: list[int]) -> Select[Any]:
    return select(*_CLAIMED).where(DELIVERY.c.id.in_(ids))


def _recipients(claimed: Subquery | CTE) -> Select[Any]:
    """Each claimed row with its subscriber and subscription as they are *now*.

    The subscription status is a scalar subquery on UNIQUE(subscriber_id, series_id): one
    index probe per row rather than a join over a whole series' subscriptions.
    """

    def of_subscription(column: Any, label: str) -> Any:
        return (
            select(column)
            .where(
                Subscription.subscriber_id == claimed.c.subscriber_id,
                Subscription.series_id == Issue.series_id,
            )
            .scalar_subquery()
            .label(label)
        )

    subscription_status = of_subscription(Subscription.status, "subscription_status")
    return (
        select(
            claimed.c.id,
            claimed.c.subscriber_id,
            claimed.c.message_id,
            claimed.c.attempts,
            Subscriber.email,
            Subscriber.name,
            Subscriber.status.label("subscriber_status"),
            subscription_status,
            Issue.id.label("issue_id"),
            Issue.number,
            Series.id.label("series_id"),
            Series.slug,
            Series.title,
            Series.mode,
            # Serial mode: where the reader is now, for the progress line in the footer.
            of_subscription(Subscription.next_part, "next_part"),
            of_subscription(Subscription.next_due_at, "next_due_at"),
            func.coalesce(Subscriber.timezone, Series.timezone).label("zone"),
        )
        .select_from(claimed)
        .join(Issue, Issue.id == claimed.c.issue_id)
        .join(Series, Series.id == Issue.series_id)
        .outerjoin(Subscriber, Subscriber.id == claimed.c.subscriber_id)
        .order_by(claimed.c.id)
    )


def _store_message_ids(session: Session, claimed: Sequence[Row[Any]], mids: dict[int, str]) -> None:
    missing = [row.id for row in claimed if row.message_id is None]
    if missing:
        session.execute(
            update(DELIVERY)
            .where(DELIVERY.c.id == bindparam("delivery_id"))
            .values(message_id=bindparam("mid")),
            [{"delivery_id": i, "mid": mids[i]} for i in missing],
        )


def unqueue(session: Session, delivery_ids: list[int]) -> int:
    """Give back still-queued rows untouched (paused, or their task message could not be
    published): the tick hands them out later."""
    return session.execute(
        update(DELIVERY)
        .where(DELIVERY.c.id.in_(delivery_ids), DELIVERY.c.status == DeliveryStatus.QUEUED)
        .values(status=DeliveryStatus.PENDING, lease_until=None)
    ).rowcount


def _naive(value: dt.datetime | str | None) -> dt.datetime | None:
    """A scalar subquery's timestamp: SQLite hands it back as text, untyped."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value)


def _take_recipients(session: Session, claim: Claim, rows: Sequence[Row[Any]]) -> None:
    """Recipients for the rows whose reader still receives the series; the rest skipped."""
    skipped: list[int] = []
    for row in rows:
        if (
            row.email is None
            or row.subscriber_status != SubscriberStatus.ACTIVE
            or row.subscription_status not in RECEIVING
        ):
            skipped.append(row.id)
            continue
        claim.recipients.append(
            Recipient(
                delivery_id=row.id,
                subscriber_id=row.subscriber_id,
                email=row.email,
                name=row.name or "",
                issue_id=row.issue_id,
                series_id=row.series_id,
                series_slug=row.slug,
                series_title=row.title,
                number=row.number,
                message_id=row.message_id,
                serial=row.mode == "serial",
                next_part=row.next_part,
                next_due_at=_naive(row.next_due_at),
                zone=row.zone,
                finished=row.subscription_status == SubscriptionStatus.FINISHED,
            )
        )
    if skipped:
        claim.skipped = session.execute(
            update(DELIVERY)
            .where(DELIVERY.c.id.in_(skipped), DELIVERY.c.status == DeliveryStatus.SENDING)
            .values(
                status=DeliveryStatus.SKIPPED,
                lease_until=None,
                last_error="subscriber no longer receiving this series at send time",
            )
        ).rowcount
