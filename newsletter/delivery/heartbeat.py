"""Worker heartbeats: how a tick tells a dead worker from a slow one within seconds.

Each worker process registers a row at start and a daemon thread refreshes it every
NEWSLETTER_HEARTBEAT_SECONDS. The thread keeps beating while the process waits on a slow
SMTP server (socket waits release the GIL), so only a process that is gone (SIGKILL, OOM,
a lost host) falls silent. The worker's claims carry its id (`delivery.claimed_by`), and the
tick releases the `sending` rows of every worker silent for NEWSLETTER_HEARTBEAT_TIMEOUT:
delivery resumes at the next tick instead of after the 300 s lease, which stays as the last
resort (a hung process that still beats).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.orm import Session

from newsletter.core.db.models import Delivery, DeliveryStatus, WorkerHeartbeat, utcnow
from newsletter.core.db.session import transaction
from newsletter.core.settings import get_settings

log = logging.getLogger(__name__)

DELIVERY = Delivery.__table__
HEARTBEAT = WorkerHeartbeat.__table__


class _Beating:
    """This process's id, its beating thread, and what it owes the ledger."""

    worker_id: str | None = None
    stop: threading.Event | None = None
    lock = threading.Lock()
    sent: list[tuple[int, dt.datetime]] = []  # accepted by SMTP, not yet recorded
    abandoned: list[dt.datetime] = []  # lease tokens of batches cut off by the database


def current() -> str | None:
    """The id this process claims rows under, or None outside a worker (tests, CLI)."""
    return _Beating.worker_id


def start() -> str:
    """Register this worker process and beat until `stop()` or the process ends."""
    stop()
    worker_id = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"
    beat(worker_id)
    event = threading.Event()
    _Beating.worker_id, _Beating.stop = worker_id, event
    interval = get_settings().heartbeat_seconds
    threading.Thread(
        target=_run, args=(worker_id, event, interval), name="heartbeat", daemon=True
    ).start()
    log.info("worker %s beating every %s s", worker_id, interval)
    return worker_id


def stop() -> None:
    """Stop beating and remove this process's row (a clean shutdown holds no claims)."""
    worker_id, event = _Beating.worker_id, _Beating.stop
    _Beating.worker_id = _Beating.stop = None
    if event is not None:
        event.set()
    if worker_id is not None:
        try:
            with transaction() as session:
                session.execute(delete(HEARTBEAT).where(HEARTBEAT.c.id == worker_id))
        except Exception as exc:  # the database may be gone at shutdown; the tick cleans up
            log.warning("heartbeat row of %s not removed: %s", worker_id, type(exc).__name__)


def abandon(lease_until: dt.datetime, sent: int | None, sent_at: dt.datetime) -> bool:
    """Leave a batch the database dropped mid-way for this process to settle later.

    Once the database answers again, the beating thread records `sent` as sent (its message
    went out: sending it again would be a duplicate) and hands the batch's other rows back.
    Returns False outside a worker (no thread to settle it): the caller then re-raises and
    the lease recovers the rows.
    """
    if _Beating.worker_id is None:
        return False
    with _Beating.lock:
        if sent is not None:
            _Beating.sent.append((sent, sent_at))
        _Beating.abandoned.append(lease_until)
    return True


def settle(worker_id: str) -> None:
    """Write what `abandon` left: sent marks first, then release the rest of each batch."""
    with _Beating.lock:
        sent, abandoned = list(_Beating.sent), list(_Beating.abandoned)
    if not sent and not abandoned:
        return
    with transaction() as session:
        for delivery_id, at in sent:
            session.execute(
                update(DELIVERY)
                .where(DELIVERY.c.id == delivery_id, DELIVERY.c.status.in_(DeliveryStatus.OPEN))
                .values(status=DeliveryStatus.SENT, sent_at=at, lease_until=None, last_error=None)
            )
        for lease_until in abandoned:
            session.execute(
                update(DELIVERY)
                .where(
                    DELIVERY.c.status == DeliveryStatus.SENDING,
                    DELIVERY.c.claimed_by == worker_id,
                    DELIVERY.c.lease_until == lease_until,
                )
                .values(status=DeliveryStatus.PENDING, lease_until=None, claimed_by=None)
            )
    with _Beating.lock:
        del _Beating.sent[: len(sent)]
        del _Beating.abandoned[: len(abandoned)]
    log.info("settled %s sent marks and %s abandoned batches", len(sent), len(abandoned))


def _run(worker_id: str, event: threading.Event, interval: float) -> None:
    while not event.wait(interval):
        try:
            beat(worker_id)
            settle(worker_id)
        except Exception as exc:  # a database blip must not kill the thread; beat again
            log.warning("heartbeat of %s failed: %s", worker_id, type(exc).__name__)


def beat(worker_id: str) -> None:
    """Refresh (or re-create) this worker's row."""
    now = utcnow()
    with transaction() as session:
        refreshed = session.execute(
            update(HEARTBEAT).where(HEARTBEAT.c.id == worker_id).values(beat_at=now)
        ).rowcount
        if not refreshed:
            session.execute(insert(HEARTBEAT).values(id=worker_id, started_at=now, beat_at=now))


def silent(now: dt.datetime, timeout: float) -> ColumnElement[bool]:
    """Heartbeat rows not refreshed for `timeout` seconds (index on beat_at)."""
    return HEARTBEAT.c.beat_at < now - dt.timedelta(seconds=timeout)


def release_orphans(session: Session, now: dt.datetime, timeout: float) -> int:
    """`sending` rows of workers silent for `timeout` seconds go back to `pending`.

    Their attempt stays counted, so a row that keeps killing workers still ends `failed`
    after the usual number of attempts. Silent workers' rows are then forgotten.
    """
    gone = silent(now, timeout)
    silent_ids = select(HEARTBEAT.c.id).where(gone)
    released = session.execute(
        update(DELIVERY)
        .where(DELIVERY.c.status == DeliveryStatus.SENDING, DELIVERY.c.claimed_by.in_(silent_ids))
        .values(status=DeliveryStatus.PENDING, lease_until=None, claimed_by=None)
    ).rowcount
    session.execute(delete(HEARTBEAT).where(gone))
    if released:
        log.warning("released %s deliveries held by workers silent for %s s", released, timeout)
    return released
