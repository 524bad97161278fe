"""The delivery feature's Celery tasks, and publishing them: thin wrappers over the services.

Payloads are ids only. Every task is idempotent by construction (the services claim their
rows with conditional UPDATEs), so late acks and redelivery are always safe. Nothing here
sets an ETA or countdown: when something should happen later, the database says so
(`next_attempt_at`) and a tick picks it up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

from celery.signals import worker_process_init, worker_process_shutdown

from newsletter.core.celery_app import BULK, MAIL_TASK, TRANSACTIONAL, app, ensure_broker_folders
from newsletter.delivery import heartbeat, oneoff, send
from newsletter.delivery import tick as tick_service
from newsletter.mail.pacing import forget_limiters

log = logging.getLogger(__name__)

# The producer of the innermost `publishing()` block, if any.
_PRODUCER: list[Any] = []


@app.task(name="newsletter.delivery.tasks.tick")
def tick() -> dict[str, int]:
    """One scheduler tick at the current time (beat runs this every NEWSLETTER_TICK_SECONDS)."""
    result = tick_now()
    return {"claimed": result.claimed, "released": result.released}


@app.task(name="newsletter.delivery.tasks.send_batch")
def send_batch(delivery_ids: list[int]) -> dict[str, int]:
    """Send the deliveries a tick claimed; rows no longer `queued` are left alone."""
    return dict(send.send_batch([int(i) for i in delivery_ids]))


@app.task(name=MAIL_TASK)
def send_mail(mail_ids: list[int]) -> dict[str, int]:
    """Send one-off mail rows of the outbox (confirmations), on the `transactional` queue.

    Published by a tick for rows it claimed, and straight after commit by signup (the
    wake-up, `core.celery_app.wake`); rows not claimable any more are left alone.
    """
    return dict(oneoff.send_mail([int(i) for i in mail_ids]))


def tick_now(now: dt.datetime | None = None) -> tick_service.TickResult:
    """Run one tick here, publishing its batches over one broker connection."""
    with publishing():
        return tick_service.run_tick(now, enqueue=send_batch_later, mail=send_mail_later)


@contextlib.contextmanager
def publishing() -> Iterator[None]:
    """Within the block, `send_batch_later` reuses one producer (one broker connection)
    instead of acquiring one from the pool per task: the tick publishes hundreds at once."""
    if app.conf.task_always_eager:  # nothing is published; tasks run in place
        yield
        return
    ensure_broker_folders()
    with app.producer_or_acquire() as producer:
        _PRODUCER.append(producer)
        try:
            yield
        finally:
            _PRODUCER.pop()


def send_batch_later(delivery_ids: list[int]) -> None:
    """Queue one `send_batch` task for rows a tick has just claimed as `queued`.

    Call it only after the rows it names are committed (the tick does, via `after_commit`).
    """
    producer = _PRODUCER[-1] if _PRODUCER else None
    if producer is None:
        ensure_broker_folders()
    send_batch.apply_async(
        args=[list(delivery_ids)], queue=BULK, routing_key=BULK, producer=producer
    )


def send_mail_later(mail_ids: list[int]) -> None:
    """Queue one `send_mail` task, on `transactional`, for outbox rows a tick has claimed."""
    producer = _PRODUCER[-1] if _PRODUCER else None
    if producer is None:
        ensure_broker_folders()
    send_mail.apply_async(
        args=[list(mail_ids)], queue=TRANSACTIONAL, routing_key=TRANSACTIONAL, producer=producer
    )


@worker_process_init.connect
def _after_fork(**_kwargs: Any) -> None:
    """A forked worker process must not share the parent's Redis client for pacing, and
    announces itself with a heartbeat so its claims can be recovered if it dies."""
    forget_limiters()
    heartbeat.start()


@worker_process_shutdown.connect
def _before_exit(**_kwargs: Any) -> None:
    heartbeat.stop()
