"""Hand work to the broker. Call these only after the rows they name are committed.

Payloads are plain ids (JSON). Nothing here sets an ETA or countdown: when something should
happen later, the database says so (`next_attempt_at`) and a tick picks it up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from newsletter.delivery.celery_app import BULK, TRANSACTIONAL, app, ensure_broker_folders

# The producer of the innermost `publishing()` block, if any.
_PRODUCER: list[Any] = []


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
    """Queue one `send_batch` task for rows a tick has just claimed as `queued`."""
    from newsletter.delivery.tasks import send_batch

    producer = _PRODUCER[-1] if _PRODUCER else None
    if producer is None:
        ensure_broker_folders()
    send_batch.apply_async(
        args=[list(delivery_ids)], queue=BULK, routing_key=BULK, producer=producer
    )


def confirmation_later(subscriber_id: int, series_id: int) -> None:
    """Queue a confirmation mail on the `transactional` queue (ahead of any bulk backlog)."""
    from newsletter.delivery.tasks import send_confirmation_task

    ensure_broker_folders()
    send_confirmation_task.apply_async(
        args=[subscriber_id, series_id], queue=TRANSACTIONAL, routing_key=TRANSACTIONAL
    )
