"""The outcome of each send, written to the delivery ledger the moment it is known.

A worker writes over one connection per batch and commits after every message, so a kill
can only ever lose the outcome of the one SMTP transaction in flight. Every write is
conditional on the row still being open, so a late write never overrides a final state.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import Connection, Executable, bindparam, update
from sqlalchemy.exc import DBAPIError

from newsletter.core.db import dialect
from newsletter.core.db.models import Delivery, DeliveryStatus, utcnow
from newsletter.core.db.session import transaction
from newsletter.core.settings import Settings
from newsletter.delivery.retry import backoff
from newsletter.subscribers.suppression import mark_bounced

log = logging.getLogger(__name__)

DELIVERY = Delivery.__table__
_ID = bindparam("delivery_id")

# The hot path, one per message, as plain SQL on the DBAPI connection: SQLAlchemy's
# per-execute bookkeeping costs more than the statement itself. Also applies when the row is
# no longer `sending` (a lease that ran out under a stalled worker): the message did go out,
# and recording it stops the row from being handed out again.
_MARK_SENT_SQL = (
    "UPDATE delivery SET status = 'sent', sent_at = {p}, lease_until = NULL, last_error = NULL"
    " WHERE id = {p} AND status IN ('pending', 'queued', 'sending')"
)
_MINE = (DELIVERY.c.id == _ID, DELIVERY.c.status == DeliveryStatus.SENDING)


class LedgerLost(Exception):
    """The database went away while an outcome was being written.

    `sent` names the delivery whose message the SMTP server had just accepted, if that was
    the write that failed: it must be recorded as sent once the database is back, not sent
    again.
    """

    def __init__(self, sent: int | None, sent_at: dt.datetime) -> None:
        super().__init__(sent)
        self.sent = sent
        self.sent_at = sent_at


class Ledger:
    """One autocommitted statement per outcome, over one connection for the whole batch.

    Autocommit makes each single-statement write its own transaction in one round trip
    (no separate COMMIT); the bounce path, which changes two tables, opens its own.
    """

    def __init__(self, conn: Connection, settings: Settings) -> None:
        self.conn = conn
        self.max_attempts = settings.max_attempts
        self.retry_base = settings.retry_base_seconds
        self.postgres = dialect.is_postgres(conn)
        self._mark_sent = _MARK_SENT_SQL.format(p=dialect.paramstyle(conn))
        self._when = dialect.datetime_param(conn)
        self._cursor: Any = None  # the DBAPI cursor for the per-message statement
        self._dbapi_error: type[Exception] = conn.dialect.loaded_dbapi.Error

    def __enter__(self) -> Ledger:
        self.conn.execution_options(isolation_level="AUTOCOMMIT")
        if self.postgres:
            # Every write on this connection records something that already happened at
            # the SMTP server. Losing the last few of them in a *database* crash costs at
            # most a duplicate of those messages, the same risk as a worker killed between
            # the 250 and the commit, which the product accepts (one per transaction in
            # flight). Waiting for the WAL flush, though, would cap a worker at the disk's
            # fsync rate. Session-level rather than SET LOCAL: one statement per batch
            # instead of one per message; reset before the connection goes back to the pool.
            self.conn.exec_driver_sql("SET synchronous_commit = off")
        self._cursor = self.conn.connection.dbapi_connection.cursor()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._cursor is not None:
            self._cursor.close()
        if self.postgres and not self.conn.invalidated:
            try:
                self.conn.exec_driver_sql("RESET synchronous_commit")
            except DBAPIError:
                # Leaving because the database went away: the RESET fails on the same dead
                # connection, and its error must not replace the one in flight (a
                # `LedgerLost` names a message that did go out and must not go again).
                if exc[0] is None:
                    raise

    def _write(self, stmt: Executable, **params: object) -> int:
        return self.conn.execute(stmt, params).rowcount

    def sent(self, delivery_id: int) -> None:
        now = utcnow()
        try:
            self._cursor.execute(self._mark_sent, (self._when(now), delivery_id))
        except self._dbapi_error as exc:
            raise LedgerLost(delivery_id, now) from exc
        if not self._cursor.rowcount:
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

    def failed_many(self, delivery_ids: list[int], error: str) -> None:
        """Fail rows this batch holds that cannot be sent at all (their part will not render)."""
        if delivery_ids:
            self._write(
                update(DELIVERY)
                .where(DELIVERY.c.id.in_(delivery_ids), DELIVERY.c.status == DeliveryStatus.SENDING)
                .values(status=DeliveryStatus.FAILED, lease_until=None, last_error=error[:1000])
            )

    def bounced(self, delivery_id: int, subscriber_id: int, error: str) -> None:
        """5.1.x: the address is dead. The delivery and the subscriber change together."""
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
        return set(rows)
