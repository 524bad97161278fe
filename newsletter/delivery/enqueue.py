"""Hand work to the broker. Call these only after the rows they name are committed.

Payloads are plain ids (JSON). Nothing here sets an ETA or countdown: when something should
happen later, the database says so (`next_attempt_at`) and a tick picks it up.
"""

from __future__ import annotations

from newsletter.delivery.celery_app import BULK, TRANSACTIONAL, ensure_broker_folders


def send_batch_later(delivery_ids: list[int]) -> None:
    """Queue one `send_batch` task for rows a tick has just claimed as `queued`."""
    from newsletter.delivery.tasks import send_batch

    ensure_broker_folders()
    send_batch.apply_async(args=[list(delivery_ids)], queue=BULK, routing_key=BULK)


def confirmation_later(subscriber_id: int, series_id: int) -> None:
    """Queue a confirmation mail on the `transactional` queue (ahead of any bulk backlog)."""
    from newsletter.delivery.tasks import send_confirmation_task

    ensure_broker_folders()
    send_confirmation_task.apply_async(
        args=[subscriber_id, series_id], queue=TRANSACTIONAL, routing_key=TRANSACTIONAL
    )
