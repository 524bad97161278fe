"""The outcome of each send, written to the delivery ledger the moment it is known.

A worker writes over one connection per batch and commits after every message, so a kill
can only ever lose the outcome of the one SMTP transaction in flight. Every write is
conditional on the row still being open, so a late write never overrides a final state.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Connection, bindparam, update

from newsletter.db.models import Delivery, DeliveryStatus, utcnow
from newsletter.db.session import transaction
from newsletter.delivery.retry import backoff
from newsletter.settings import Settings

log = logging.getLogger(__name__)

DELIVERY = Delivery.__table__
OPEN = (DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.SENDING)
_ID = bindparam("delivery_id")

# Also when the row is no longer `sending` (a lease that ran out under a stalled worker):
# the message did go out, and recording it stops the row from being sent a second time.
_MARK_SENT = (
    update(DELIVERY)
    .where(DELIVERY.c.id == _ID, DELIVERY.c.status.in_(OPEN))
    .values(
        status=DeliveryStatus.SENT,
        sent_at=bindparam("now"),
        lease_until=None,
        last_error=None,
    )
)
_MINE = (DELIVERY.c.id == _ID, DELIVERY.c.status == DeliveryStatus.SENDING)


class Ledger:
    """Short commits for one batch's outcomes over one connection."""

    def __init__(self, conn: Connection, settings: Settings) -> None:
        self.conn = conn
        self.max_attempts = settings.max_attempts
        self.retry_base = settings.retry_base_seconds
        self.postgres = conn.dialect.name == "postgresql"

    def __enter__(self) -> Ledger:
        if self.postgres:
            # Every write on this connection records something that already happened at
            # the SMTP server. Losing the last few of them in a *database* crash costs at
            # most a duplicate of those messages, the same risk as a worker killed between
            # the 250 and the commit, which the product accepts (one per transaction in
            # flight). Waiting for the WAL flush, though, would cap a worker at the disk's
            # fsync rate. Session-level rather than SET LOCAL: one statement per batch
            # instead of one per message; reset before the connection goes back to the pool.
            self.conn.exec_driver_sql("SET synchronous_commit = off")
            self.conn.commit()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.postgres and not self.conn.invalidated:
            self.conn.rollback()
            self.conn.exec_driver_sql("RESET synchronous_commit")
            self.conn.commit()

    def _write(self, stmt, **params: object) -> int:  # noqa: ANN001
        rowcount = self.conn.execute(stmt, params).rowcount
        self.conn.commit()
        return rowcount

    def sent(self, delivery_id: int) -> None:
        if not self._write(_MARK_SENT, delivery_id=delivery_id, now=utcnow()):
            log.warning("delivery %s was sent but was already final in the ledger", delivery_id)

    def retry_or_fail(self, delivery_id: int, attempts: int, error: str) -> str:
        """4xx or connection trouble: pending again after a backoff, or failed when the
        attempts are used up. Returns the new status."""
        if attempts >= self.max_attempts:
            self.failed(delivery_id, f"{error} (after {attempts} attempts)")
            return DeliveryStatus.FAILED
        due = utcnow() + backoff(attempts, self.retry_base)
        self._write(
            update(DELIVERY)
            .where(*_MINE)
            .values(
                status=DeliveryStatus.PENDING,
                next_attempt_at=due,
                lease_until=None,
                last_error=error[:1000],
            ),
            delivery_id=delivery_id,
        )
        return DeliveryStatus.PENDING

    def failed(self, delivery_id: int, error: str) -> None:
        self._write(
            update(DELIVERY)
            .where(*_MINE)
            .values(status=DeliveryStatus.FAILED, lease_until=None, last_error=error[:1000]),
            delivery_id=delivery_id,
        )

    def bounced(self, delivery_id: int, subscriber_id: int, error: str) -> None:
        """5.1.x: the address is dead. The delivery and the subscriber change together."""
        from newsletter.subscribers.service import mark_bounced

        with transaction() as session:
            session.execute(
                update(DELIVERY)
                .where(*_MINE)
                .values(status=DeliveryStatus.BOUNCED, lease_until=None, last_error=error[:1000]),
                {"delivery_id": delivery_id},
            )
            mark_bounced(session, subscriber_id, error[:500])

    def release(self, delivery_ids: list[int], error: str) -> None:
        """Hand back rows this batch claimed but never tried (the server is unreachable).

        Their attempt is given back, and they wait a base backoff before the next tick
        picks them up, so a dead server is not hammered by every queued batch.
        """
        if not delivery_ids:
            return
        self._write(
            update(DELIVERY)
            .where(DELIVERY.c.id.in_(delivery_ids), DELIVERY.c.status == DeliveryStatus.SENDING)
            .values(
                status=DeliveryStatus.PENDING,
                attempts=DELIVERY.c.attempts - 1,
                next_attempt_at=utcnow() + backoff(1, self.retry_base),
                lease_until=None,
                last_error=error[:1000],
            )
        )

    def renew(
        self, delivery_ids: list[int], lease_until: dt.datetime, new_lease: dt.datetime
    ) -> set[int]:
        """Extend this batch's lease on rows still ours; returns the ids that are.

        The exact `lease_until` this worker wrote is its claim token: a row the tick
        released and someone else claimed carries a different one and is dropped here.
        """
        rows = self.conn.execute(
            update(DELIVERY)
            .where(
                DELIVERY.c.id.in_(delivery_ids),
                DELIVERY.c.status == DeliveryStatus.SENDING,
                DELIVERY.c.lease_until == lease_until,
            )
            .values(lease_until=new_lease)
            .returning(DELIVERY.c.id)
        ).scalars()
        mine = set(rows)
        self.conn.commit()
        return mine
