"""Lease rules shared by both ledgers: the `delivery` rows of issues and the `mail` outbox.

Both tables have the same claim columns (status, attempts, lease_until, last_error) and the
same statuses (pending → queued → sending → final), so an expired lease and a lost task
message are handled by one piece of code for either. The `table` argument says which.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, Table, and_, case, update
from sqlalchemy.orm import Session

# The status values both ledgers use for a claimed row and for a row waiting to be claimed.
PENDING, QUEUED, SENDING, FAILED = "pending", "queued", "sending", "failed"
LEASED = (QUEUED, SENDING)


def release_expired(
    session: Session, table: Table, now: dt.datetime, max_attempts: int
) -> tuple[int, int]:
    """Expired leases back to `pending`, or `failed` once every attempt is used.

    A message or a worker was lost; a row that keeps killing its worker must not loop
    forever. Returns (released, failed). One statement on the (status, lease_until) index,
    since every tick runs it.
    """
    used_up = table.c.attempts >= max_attempts
    statuses = session.execute(
        update(table)
        .where(table.c.status.in_(LEASED), table.c.lease_until < now)
        .values(
            status=case((used_up, FAILED), else_=PENDING),
            last_error=case(
                (used_up, f"lease expired after {max_attempts} attempts (worker lost)"),
                else_=table.c.last_error,
            ),
            lease_until=None,
        )
        .returning(table.c.status)
    ).scalars()
    released = failed = 0
    for status in statuses:
        failed += status == FAILED
        released += status == PENDING
    return released, failed


def stale_queued(
    table: Table, now: dt.datetime, after: float, lease_seconds: float
) -> ColumnElement[bool]:
    """Rows queued more than `after` seconds ago (index on status, lease_until).

    A queued row's lease was set to claim time + `lease_seconds` by the tick.
    """
    lease_then = now - dt.timedelta(seconds=after) + dt.timedelta(seconds=lease_seconds)
    return and_(table.c.status == QUEUED, table.c.lease_until < lease_then)


def requeue_stale(
    session: Session, table: Table, now: dt.datetime, after: float, lease_seconds: float
) -> int:
    """Queued rows whose task message is presumed lost back to `pending`, attempts untouched
    (they were never tried): the same tick claims and publishes them again."""
    return session.execute(
        update(table)
        .where(stale_queued(table, now, after, lease_seconds))
        .values(status=PENDING, lease_until=None)
    ).rowcount
