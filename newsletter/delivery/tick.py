"""One scheduler tick: the database says what is due; the tick turns it into broker messages.

Steps, each in its own short transaction so no lock is held across them:
  1. release leases that ran out (lost messages, killed workers), deliveries and one-off mail;
  2. claim due one-off mail (the `mail` outbox: confirmations) and, after commit, enqueue
     `send_mail` on `transactional`; first, so a confirmation never waits behind a fan-out;
  3. fan out due broadcast issues (one INSERT … SELECT per issue);
  4. end pauses for a while whose time is up; release due serial-mode parts (and the
     back parts of broadcast late joiners) and advance each reader's progress;
  5. claim pending rows in batches and, after each batch commits, enqueue `send_batch`;
  6. mark broadcast issues whose deliveries are all final as `sent`, and a broadcast
     series whose parts are all sent as `finished`.
Workers whose heartbeat stopped lose their claims at step 1, and queued rows whose task
message the broker lost are published again.
A global pause skips 2–5: it holds every kind of mail. With nothing due, a tick is a
handful of indexed queries.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from newsletter.core.celery_app import BULK, TRANSACTIONAL
from newsletter.core.db.models import Delivery, Mail, utcnow
from newsletter.core.db.session import after_commit, transaction
from newsletter.core.settings import Settings, get_settings
from newsletter.delivery import claim, control, fanout, heartbeat, leases, monitor, outbox
from newsletter.scheduling import series

log = logging.getLogger(__name__)

Enqueue = Callable[[list[int]], None]
# Serial subscriptions released per transaction: ids go into IN lists, so well below
# SQLite's 32,766 bound parameters.
SERIAL_CHUNK = 5000
# Rows claimed per statement. A claim costs about the same for 200 rows as for thousands
# (one index range scan), so the tick claims big chunks and splits them into task-sized
# batches in Python: 100k deliveries are ten statements, not five hundred.
CLAIM_CHUNK = 10_000
# One-off mail: rows per task message (small, so several workers share a burst of signups)
# and per claim statement.
MAIL_BATCH = 10
DELIVERY = Delivery.__table__
MAIL = Mail.__table__
MAIL_CLAIM_CHUNK = 500


@dataclass
class TickResult:
    paused: bool = False
    released: int = 0
    expired_failed: int = 0
    fanned_out: dict[int, int] = field(default_factory=dict)  # issue id → rows created
    serial_created: int = 0
    resumed: int = 0  # subscriptions whose pause for a while ended
    claimed: int = 0
    batches: list[list[int]] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    orphans: int = 0  # sending rows of workers whose heartbeat stopped
    republished: int = 0  # queued rows whose task message the broker no longer held
    finished: list[int] = field(default_factory=list)  # series whose last part went out
    mail_released: int = 0
    mail_expired_failed: int = 0
    mail_claimed: int = 0
    mail_batches: list[list[int]] = field(default_factory=list)


def run_tick(
    now: dt.datetime | None, *, enqueue: Enqueue, mail: Enqueue | None = None
) -> TickResult:
    """Run one tick at `now` (naive UTC, None for the current time; tests pass a clock).

    `enqueue` receives each claimed batch after its commit: `tasks.send_batch_later` in
    production (see `tasks.tick_now`), a recorder in tests. `mail` does the same for
    one-off mail batches (`tasks.send_mail_later`); without it, due one-off mail is left
    for a tick that can publish it.
    """
    now = now or utcnow()
    settings = get_settings()
    result = TickResult()
    with transaction() as session:
        result.paused = control.is_paused(session)
        result.released, result.expired_failed = leases.release_expired(
            session, DELIVERY, now, settings.max_attempts
        )
        result.mail_released, result.mail_expired_failed = leases.release_expired(
            session, MAIL, now, settings.max_attempts
        )
        after = settings.republish_after
        dead, lost, mail_lost = session.execute(
            select(
                exists().where(heartbeat.silent(now, settings.heartbeat_timeout)),
                exists().where(leases.stale_queued(DELIVERY, now, after, settings.lease_seconds)),
                exists().where(leases.stale_queued(MAIL, now, after, settings.lease_seconds)),
            )
        ).one()
        if dead:
            result.orphans = heartbeat.release_orphans(session, now, settings.heartbeat_timeout)
    forgot = monitor.broker_forgot(settings)
    if dead or lost or mail_lost or forgot:
        # A dead worker may also have held a prefetched message, and a broker that forgot
        # its data held them all: then any queued row may be lost.
        result.republished = _recover_lost_messages(now, 0.0 if dead or forgot else after, forgot)
    if not result.paused:
        if mail is not None:
            _claim_mail(now, result, settings, mail)
        _fan_out(now, result)
        _advance_serial(now, result)
        _claim_and_enqueue(now, result, settings, enqueue)
    with transaction() as session:
        result.completed = claim.complete_issues(session, now)
        if result.completed:
            result.finished = series.finish_completed(session, now)
    return result


def _recover_lost_messages(now: dt.datetime, after: float, forgot: bool) -> int:
    """Queued rows whose message is gone go back to pending, to be published again now.

    A broker that restarts without persistence drops every waiting task, and a killed
    worker's prefetched message stays unacknowledged for the visibility timeout. Both leave
    rows `queued` with nothing on the broker to send them. Rows queued longer than
    `after` seconds while their queue is empty are such rows (deliveries on `bulk`,
    one-off mail on `transactional`), and so is every queued row once the broker `forgot`
    its data. Publishing one twice is harmless: the worker's claim makes the second
    message a no-op. Returns the deliveries and mail rows handed out again.
    """
    settings = get_settings()
    depths = {} if forgot else monitor.queue_depths(settings)
    # A backlog (or an unreachable broker): those rows are still coming.
    bulk_lost = forgot or depths.get(BULK) == 0
    mail_lost = forgot or depths.get(TRANSACTIONAL) == 0
    with transaction() as session:
        requeued = (
            leases.requeue_stale(session, DELIVERY, now, after, settings.lease_seconds)
            if bulk_lost
            else 0
        )
        if mail_lost:
            requeued += leases.requeue_stale(session, MAIL, now, after, settings.lease_seconds)
    if requeued:
        log.warning("%s queued rows had lost their task message; publishing again", requeued)
    return requeued


def _claim_mail(now: dt.datetime, result: TickResult, settings: Settings, mail: Enqueue) -> None:
    """Due one-off mail → `queued`, published after each claim commits."""
    lease_until = now + dt.timedelta(seconds=settings.lease_seconds)
    while True:
        ids, batches = _claim_chunk(
            lambda session: outbox.claim_due(session, now, MAIL_CLAIM_CHUNK, lease_until),
            MAIL_BATCH,
            mail,
            outbox.hand_back,
        )
        result.mail_claimed += len(ids)
        result.mail_batches.extend(batches)
        if len(ids) < MAIL_CLAIM_CHUNK:
            return


def _claim_chunk(
    take: Callable[[Session], list[int]],
    batch_size: int,
    enqueue: Enqueue,
    hand_back: Callable[[Session, list[int]], int],
) -> tuple[list[int], list[list[int]]]:
    """One claim statement in its own transaction; its rows are published in task-sized
    batches once it commits. Returns (ids claimed, batches)."""
    with transaction() as session:
        ids = take(session)
        batches = [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]
        if batches:
            after_commit(session, lambda: _enqueue_all(batches, enqueue, hand_back))
    return ids, batches


def _fan_out(now: dt.datetime, result: TickResult) -> None:
    with transaction() as session:
        due = fanout.due_broadcast_issues(session, now)
    for issue_id in due:
        with transaction() as session:
            created = fanout.fan_out_issue(session, issue_id, now)
        if created is not None:
            result.fanned_out[issue_id] = created


def _advance_serial(now: dt.datetime, result: TickResult) -> None:
    with transaction() as session:
        result.resumed = fanout.resume_timed_pauses(session, now)
    while True:
        with transaction() as session:
            chunk = fanout.advance_serial(session, now, SERIAL_CHUNK)
        result.serial_created += chunk.created
        if chunk.taken < SERIAL_CHUNK:
            return


def claim_budget(settings: Settings) -> int | None:
    """How many rows may be claimed (queued or sending) at once; None means no limit.

    Under a send rate limit, rows claimed beyond what that rate can send within half a lease
    would sit in the broker until their lease ran out, and then be claimed and enqueued
    again every lease period: harmless (the send claim makes them no-ops) but wasteful.
    """
    if settings.rate_limit <= 0:
        return None
    return max(settings.batch_size, int(settings.rate_limit * settings.lease_seconds / 2))


def _claim_and_enqueue(
    now: dt.datetime, result: TickResult, settings: Settings, enqueue: Enqueue
) -> None:
    lease_until = now + dt.timedelta(seconds=settings.lease_seconds)
    budget = claim_budget(settings)
    if budget is not None:
        with transaction() as session:
            budget -= claim.count_claimed(session)
    batch_size = max(1, settings.batch_size)
    chunk = max(batch_size, CLAIM_CHUNK // batch_size * batch_size)
    while budget is None or budget > 0:
        size = chunk if budget is None else min(chunk, budget)
        ids, batches = _claim_chunk(
            lambda session, size=size: claim.claim_pending(session, now, size, lease_until),
            batch_size,
            enqueue,
            claim.unqueue,
        )
        result.claimed += len(ids)
        result.batches.extend(batches)
        if budget is not None:
            budget -= len(ids)
        if len(ids) < size:
            return


def _enqueue_all(
    batches: list[list[int]], enqueue: Enqueue, unqueue: Callable[[Session, list[int]], int]
) -> None:
    """Publish each batch; if the broker fails, hand back the rows not yet published.

    They were committed `queued` with a lease of minutes; with no message on the broker
    they would wait for the lost-message recovery. Back to `pending` (a conditional UPDATE
    on `queued`, attempts untouched), the next tick that can publish hands them out. The
    error still ends this tick: further claims would meet the same broker.
    """
    for n, ids in enumerate(batches):
        try:
            enqueue(ids)
        except Exception as exc:
            rest = [i for batch in batches[n:] for i in batch]
            with transaction() as session:
                released = unqueue(session, rest)
            log.warning(
                "publish failed (%s): %s claimed rows handed back", type(exc).__name__, released
            )
            raise
