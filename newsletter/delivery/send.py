"""The batch send service: claim rows, send each over one SMTP connection, record outcomes.

Exactly once hinges on the claim: `queued → sending` is one conditional UPDATE, and only the
rows it actually changed are sent, so a duplicated or redelivered task message finds nothing
to do. Each outcome is committed right after its SMTP reply (see `ledger`), which bounds a
kill to one possible duplicate per worker process. Nothing here logs addresses.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, and_, bindparam, select, text, update
from sqlalchemy.orm import Session

from newsletter.core.db.models import (
    Delivery,
    DeliveryStatus,
    Issue,
    Series,
    SeriesStatus,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from newsletter.core.db.session import get_engine, transaction
from newsletter.core.settings import Settings, get_settings
from newsletter.delivery import control
from newsletter.delivery.compose import Recipient, compose, rendered_issue
from newsletter.delivery.identity import Identity
from newsletter.delivery.ledger import Ledger
from newsletter.mail.errors import PermanentSendError, TransientSendError
from newsletter.mail.message import make_message_id
from newsletter.mail.pacing import acquire_slot
from newsletter.mail.transport import Transport, open_transport
from newsletter.render import RenderedIssue

log = logging.getLogger(__name__)

DELIVERY = Delivery.__table__
# A subscription that is finished still receives the part that finished it (serial mode).
RECEIVING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.FINISHED)
# After this many transient failures in a row the server is treated as unavailable and the
# rest of the batch is handed back untried instead of failing one message at a time.
GIVE_UP_AFTER = 3


@dataclass
class Claim:
    recipients: list[Recipient] = field(default_factory=list)
    issues: dict[int, RenderedIssue] = field(default_factory=dict)
    attempts: dict[int, int] = field(default_factory=dict)
    lease_until: dt.datetime | None = None
    skipped: int = 0
    released: int = 0


def send_batch(delivery_ids: list[int]) -> Counter[str]:
    """Send the deliveries of one task message; returns a count per outcome."""
    settings = get_settings()
    identity = Identity.from_settings(settings)
    with transaction() as session:
        claim = claim_batch(session, delivery_ids, settings, identity)
    outcome: Counter[str] = Counter(skipped=claim.skipped, released=claim.released)
    if claim.recipients:
        # Rendering (the first time per process: an MJML compile) happens after the claim
        # has committed, never inside it: on SQLite that transaction holds the write lock.
        with transaction() as session:
            for to in claim.recipients:
                if to.issue_id not in claim.issues:
                    claim.issues[to.issue_id] = rendered_issue(
                        session, to.issue_id, to.series_id, to.number
                    )
        _send_all(claim, settings, identity, outcome)
    outcome = +outcome  # drop zero counts
    log.info("batch of %s deliveries: %s", len(delivery_ids), dict(outcome))
    return outcome


def claim_batch(
    session: Session, delivery_ids: list[int], settings: Settings, identity: Identity
) -> Claim:
    """`queued → sending` for the rows still queued; skip those whose reader has left."""
    claim = Claim()
    if not delivery_ids:
        return claim
    if control.is_paused(session):
        claim.released = _unqueue(session, delivery_ids)
        return claim
    claim.lease_until = utcnow() + dt.timedelta(seconds=settings.lease_seconds)
    if session.get_bind().dialect.name == "postgresql":
        _claim_postgres(session, claim, delivery_ids, identity)
        return claim
    paused_issues = (
        select(Issue.id)
        .join(Series, Series.id == Issue.series_id)
        .where(Series.status == SeriesStatus.PAUSED)
    )
    rows = session.execute(
        update(DELIVERY)
        .where(
            DELIVERY.c.id.in_(delivery_ids),
            DELIVERY.c.status == DeliveryStatus.QUEUED,
            DELIVERY.c.issue_id.not_in(paused_issues),
        )
        .values(
            status=DeliveryStatus.SENDING,
            lease_until=claim.lease_until,
            attempts=DELIVERY.c.attempts + 1,
        )
        .returning(DELIVERY.c.id, DELIVERY.c.message_id, DELIVERY.c.attempts)
    ).all()
    if len(rows) < len(delivery_ids):
        claim.released = _unqueue(session, delivery_ids)  # rows of paused series
    if not rows:
        return claim
    _store_message_ids(session, [r.id for r in rows if r.message_id is None], identity)
    claim.attempts = {r.id: r.attempts for r in rows}
    _load_recipients(session, claim, identity)
    return claim


# PostgreSQL: claim, store the Message-IDs and read the recipients as they are now, in one
# statement. Written so the plan is index lookups by key even on a table whose statistics
# predate a 100k fan-out (`= ANY(array)` on the primary key, the subscription status by its
# UNIQUE(subscriber_id, series_id) pair); a join on unnest() or on the subscription table
# let the planner scan every queued row, or a series' subscriptions, per batch.
# The UPDATE is the claim exactly as on SQLite (only rows still `queued`, never of a paused
# series); the Message-ID is computed in Python (it is keyed) and written with the claim,
# so it is stored before any send; the SELECT joins what the claim returned to the
# subscriber and subscription rows, read in the same snapshot.
_CLAIM_PG = text("""
WITH claimed AS (
    UPDATE delivery AS d
    SET status = :sending, lease_until = :lease_until, attempts = d.attempts + 1,
        message_id = COALESCE(
            d.message_id,
            (CAST(:mids AS text[]))[array_position(CAST(:ids AS bigint[]), d.id)])
    WHERE d.id = ANY(CAST(:ids AS bigint[])) AND d.status = :queued
      AND d.issue_id NOT IN (
          SELECT issue.id FROM issue JOIN series ON series.id = issue.series_id
          WHERE series.status = :paused)
    RETURNING d.id, d.subscriber_id, d.issue_id, d.message_id, d.attempts
)
SELECT c.id, c.subscriber_id, c.message_id, c.attempts,
       subscriber.email, subscriber.name, subscriber.status AS subscriber_status,
       (SELECT subscription.status FROM subscription
        WHERE subscription.subscriber_id = c.subscriber_id
          AND subscription.series_id = issue.series_id) AS subscription_status,
       issue.id AS issue_id, issue.number, series.id AS series_id, series.slug, series.title
FROM claimed AS c
JOIN issue ON issue.id = c.issue_id
JOIN series ON series.id = issue.series_id
LEFT JOIN subscriber ON subscriber.id = c.subscriber_id
ORDER BY c.id
""")


def _claim_postgres(
    session: Session, claim: Claim, delivery_ids: list[int], identity: Identity
) -> None:
    secret = get_settings().secret()
    rows = session.execute(
        _CLAIM_PG,
        {
            "ids": delivery_ids,
            "mids": [make_message_id(i, identity.domain, secret=secret) for i in delivery_ids],
            "sending": DeliveryStatus.SENDING,
            "queued": DeliveryStatus.QUEUED,
            "paused": SeriesStatus.PAUSED,
            "lease_until": claim.lease_until,
        },
    ).all()
    if len(rows) < len(delivery_ids):
        claim.released = _unqueue(session, delivery_ids)  # rows of paused series
    if not rows:
        return
    claim.attempts = {r.id: r.attempts for r in rows}
    _take_recipients(session, claim, rows)


def _unqueue(session: Session, delivery_ids: list[int]) -> int:
    """Give back still-queued rows untouched (paused): the tick hands them out later."""
    return session.execute(
        update(DELIVERY)
        .where(DELIVERY.c.id.in_(delivery_ids), DELIVERY.c.status == DeliveryStatus.QUEUED)
        .values(status=DeliveryStatus.PENDING, lease_until=None)
    ).rowcount


def _store_message_ids(session: Session, ids: list[int], identity: Identity) -> None:
    """The Message-ID is written before the send, so the ledger names every message that
    may have left, even one whose 250 never came back."""
    if not ids:
        return
    secret = get_settings().secret()
    session.execute(
        update(DELIVERY)
        .where(DELIVERY.c.id == bindparam("delivery_id"))
        .values(message_id=bindparam("mid")),
        [
            {"delivery_id": i, "mid": make_message_id(i, identity.domain, secret=secret)}
            for i in ids
        ],
    )


def _load_recipients(session: Session, claim: Claim, identity: Identity) -> None:
    """Read each claimed row with its subscriber as they are *now*; mark leavers skipped."""
    rows = session.execute(
        select(
            Delivery.id,
            Delivery.subscriber_id,
            Delivery.message_id,
            Subscriber.email,
            Subscriber.name,
            Subscriber.status.label("subscriber_status"),
            Subscription.status.label("subscription_status"),
            Issue.id.label("issue_id"),
            Issue.number,
            Series.id.label("series_id"),
            Series.slug,
            Series.title,
        )
        .select_from(Delivery)
        .join(Issue, Issue.id == Delivery.issue_id)
        .join(Series, Series.id == Issue.series_id)
        .outerjoin(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .outerjoin(
            Subscription,
            and_(
                Subscription.subscriber_id == Delivery.subscriber_id,
                Subscription.series_id == Issue.series_id,
            ),
        )
        .where(Delivery.id.in_(list(claim.attempts)))
        .order_by(Delivery.id)
    ).all()
    _take_recipients(session, claim, rows)


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


def _send_all(claim: Claim, settings: Settings, identity: Identity, outcome: Counter) -> None:
    """One SMTP connection (and one DB connection) for the whole batch."""
    assert claim.lease_until is not None
    lease_until = claim.lease_until
    renew_every = settings.lease_seconds / 3
    renewed_at = time.monotonic()
    pending = list(claim.recipients)
    streak = 0
    with (
        get_engine().connect() as conn,
        Ledger(conn, settings) as ledger,
        open_transport(settings) as transport,
    ):
        while pending:
            if time.monotonic() - renewed_at > renew_every:
                new_lease = utcnow() + dt.timedelta(seconds=settings.lease_seconds)
                mine = ledger.renew([r.delivery_id for r in pending], lease_until, new_lease)
                pending = [r for r in pending if r.delivery_id in mine]
                lease_until, renewed_at = new_lease, time.monotonic()
                if not pending:
                    break
            to = pending.pop(0)
            acquire_slot(settings)
            status = _send_one(transport, ledger, identity, claim, to)
            outcome[status] += 1
            streak = streak + 1 if status == "retry" else 0
            if streak >= GIVE_UP_AFTER and pending:
                ledger.release([r.delivery_id for r in pending], "server unavailable")
                outcome["released"] += len(pending)
                break


def _send_one(
    transport: Transport, ledger: Ledger, identity: Identity, claim: Claim, to: Recipient
) -> str:
    attempts = claim.attempts[to.delivery_id]
    try:
        data = compose(identity, claim.issues[to.issue_id], to)
        transport.send(identity.address, to.email, data)
    except TransientSendError as exc:
        status = ledger.retry_or_fail(to.delivery_id, attempts, f"transient: {exc}")
        return "retry" if status == DeliveryStatus.PENDING else "failed"
    except PermanentSendError as exc:
        if exc.is_mailbox_unknown:
            ledger.bounced(to.delivery_id, to.subscriber_id, f"bounced: {exc}")
            return "bounced"
        ledger.failed(to.delivery_id, f"permanent: {exc}")
        return "failed"
    except ValueError as exc:  # an address or header the message builder refuses
        ledger.failed(to.delivery_id, f"unsendable: {exc}")
        return "failed"
    ledger.sent(to.delivery_id)
    return "sent"
