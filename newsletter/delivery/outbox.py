"""Leases and outcomes of one-off mail rows (the `mail` outbox): claims, releases, results.

The same lifecycle as a delivery row: `pending → queued` (a tick claimed it and published a
task) `→ sending` (a worker claimed it) `→ sent | failed | skipped`; a 4xx sends it back to
`pending` with a later `next_attempt_at`, and a lease that ran out brings it back too. One
difference: a signup publishes its row's id straight after commit while the row is still
`pending` (claiming it first would cost the signup a second transaction, and a failed
publish would strand it until its lease ran out), so the worker's claim also takes a
*due* pending row. Both claims are conditional UPDATEs, so of a tick's message and a
signup's for the same row exactly one sends it.

Services take a Session and never commit; callers own the transactions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.utils import make_msgid

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from newsletter.core.db import dialect
from newsletter.core.db.models import Mail, MailStatus
from newsletter.delivery import control
from newsletter.delivery.retry import backoff

MAIL = Mail.__table__
LEASED = (MailStatus.QUEUED, MailStatus.SENDING)
_ERROR_CHARS = 1000


@dataclass(frozen=True)
class ClaimedMail:
    """One row a worker now holds as `sending` (attempts counts this one)."""

    id: int
    kind: str
    subscriber_id: int | None
    series_id: int | None
    attempts: int
    message_id: str


def claim_due(
    session: Session, now: dt.datetime, limit: int, lease_until: dt.datetime
) -> list[int]:
    """The tick's claim: up to `limit` due pending rows become `queued`; their ids, oldest
    due first. The same one-statement shape as `claim.claim_pending` (SKIP LOCKED on
    PostgreSQL, a self-checking UPDATE on SQLite)."""
    due = (
        select(MAIL.c.id)
        .where(MAIL.c.status == MailStatus.PENDING, MAIL.c.next_attempt_at <= now)
        .order_by(MAIL.c.next_attempt_at)
        .limit(limit)
    )
    stmt = update(MAIL).values(status=MailStatus.QUEUED, lease_until=lease_until)
    if dialect.is_postgres(session):
        locked = (
            due.with_for_update(skip_locked=True, of=MAIL).cte("due").prefix_with("MATERIALIZED")
        )
        stmt = stmt.where(MAIL.c.id == locked.c.id)
    else:
        stmt = stmt.where(MAIL.c.id.in_(due.scalar_subquery()), MAIL.c.status == MailStatus.PENDING)
    return sorted(session.execute(stmt.returning(MAIL.c.id)).scalars())


_TO_SENDING = (
    update(MAIL)
    .where(
        MAIL.c.id == bindparam("mail_id"),
        or_(
            MAIL.c.status == MailStatus.QUEUED,
            and_(MAIL.c.status == MailStatus.PENDING, MAIL.c.next_attempt_at <= bindparam("now")),
        ),
    )
    .values(
        status=MailStatus.SENDING,
        lease_until=bindparam("lease_until"),
        attempts=MAIL.c.attempts + 1,
        message_id=func.coalesce(MAIL.c.message_id, bindparam("new_message_id")),
    )
    .returning(
        MAIL.c.id,
        MAIL.c.kind,
        MAIL.c.subscriber_id,
        MAIL.c.series_id,
        MAIL.c.attempts,
        MAIL.c.message_id,
    )
)


def claim(
    session: Session,
    mail_ids: list[int],
    now: dt.datetime,
    lease_until: dt.datetime,
    domain: str,
) -> tuple[list[ClaimedMail], int]:
    """The worker's claim: `queued` (or due `pending`) `→ sending`; (claimed, handed back).

    Row by row (a message holds a handful): each UPDATE is its own compare-and-set, so a
    duplicate or late message finds nothing to do, and a row still waiting out a backoff
    is left alone. The Message-ID is stored with the claim and kept on later attempts, so
    the row names every message that may have left. While sending is paused, queued rows
    go back to `pending` untouched (no attempt used) and nothing is claimed.
    """
    if not mail_ids:
        return [], 0
    if control.is_paused(session):
        return [], hand_back(session, mail_ids)
    claimed = []
    for mail_id in mail_ids:
        row = session.execute(
            _TO_SENDING,
            {
                "mail_id": mail_id,
                "now": now,
                "lease_until": lease_until,
                "new_message_id": make_msgid(idstring=f"mail{mail_id}", domain=domain),
            },
        ).first()
        if row is not None:
            claimed.append(ClaimedMail(*row))
    return claimed, 0


def hand_back(session: Session, mail_ids: list[int]) -> int:
    """Queued rows back to `pending` (sending is paused); the tick hands them out again."""
    return session.execute(
        update(MAIL)
        .where(MAIL.c.id.in_(mail_ids), MAIL.c.status == MailStatus.QUEUED)
        .values(status=MailStatus.PENDING, lease_until=None)
    ).rowcount


_MINE = (MAIL.c.id == bindparam("mail_id"), MAIL.c.status == MailStatus.SENDING)


def sent(session: Session, mail_id: int, now: dt.datetime) -> bool:
    """250 received. Recorded even if the lease ran out meanwhile (the message did go out,
    and this stops the row from being handed out again); never over a final state."""
    return bool(
        session.execute(
            update(MAIL)
            .where(MAIL.c.id == bindparam("mail_id"), MAIL.c.status.in_(MailStatus.OPEN))
            .values(status=MailStatus.SENT, sent_at=now, lease_until=None, last_error=None),
            {"mail_id": mail_id},
        ).rowcount
    )


def retry_or_fail(
    session: Session,
    mail: ClaimedMail,
    error: str,
    now: dt.datetime,
    max_attempts: int,
    retry_base: float,
) -> str:
    """4xx or connection trouble: `pending` after a jittered backoff, or `failed` once the
    attempts are used up. Returns the new status."""
    if mail.attempts >= max_attempts:
        finish(session, mail.id, MailStatus.FAILED, f"{error} (after {mail.attempts} attempts)")
        return MailStatus.FAILED
    session.execute(
        update(MAIL)
        .where(*_MINE)
        .values(
            status=MailStatus.PENDING,
            next_attempt_at=now + backoff(mail.attempts, retry_base),
            lease_until=None,
            last_error=error[:_ERROR_CHARS],
        ),
        {"mail_id": mail.id},
    )
    return MailStatus.PENDING


def finish(session: Session, mail_id: int, status: str, error: str) -> bool:
    """A final outcome other than sent (`failed`, `skipped`), with the reason kept."""
    return bool(
        session.execute(
            update(MAIL)
            .where(*_MINE)
            .values(status=status, lease_until=None, last_error=error[:_ERROR_CHARS]),
            {"mail_id": mail_id},
        ).rowcount
    )


def release(
    session: Session, mail_ids: list[int], error: str, now: dt.datetime, retry_base: float
) -> int:
    """Rows this worker claimed but never tried (the server is unreachable): their attempt
    is given back and they wait one base backoff, so a dead server is not hammered."""
    if not mail_ids:
        return 0
    return session.execute(
        update(MAIL)
        .where(MAIL.c.id.in_(mail_ids), MAIL.c.status == MailStatus.SENDING)
        .values(
            status=MailStatus.PENDING,
            attempts=MAIL.c.attempts - 1,
            next_attempt_at=now + backoff(1, retry_base),
            lease_until=None,
            last_error=error[:_ERROR_CHARS],
        )
    ).rowcount
