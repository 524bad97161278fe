"""Celery tasks: thin wrappers that call the delivery services.

Payloads are ids only. Every task is idempotent by construction (the services claim their
rows with conditional UPDATEs), so late acks and redelivery are always safe.
"""

from __future__ import annotations

import logging

from newsletter.delivery import confirmations, send
from newsletter.delivery import tick as tick_service
from newsletter.delivery.celery_app import app

log = logging.getLogger(__name__)


@app.task(name="newsletter.delivery.tasks.tick")
def tick() -> dict[str, int]:
    """One scheduler tick at the current time (beat runs this every NEWSLETTER_TICK_SECONDS)."""
    result = tick_service.run_tick()
    return {"claimed": result.claimed, "released": result.released}


@app.task(name="newsletter.delivery.tasks.send_batch")
def send_batch(delivery_ids: list[int]) -> dict[str, int]:
    """Send the deliveries a tick claimed; rows no longer `queued` are left alone."""
    return dict(send.send_batch([int(i) for i in delivery_ids]))


@app.task(name="newsletter.delivery.tasks.send_confirmation_task")
def send_confirmation_task(subscriber_id: int, series_id: int) -> bool:
    """The double opt-in mail, on the `transactional` queue ahead of any bulk send."""
    return confirmations.send_confirmation_now(int(subscriber_id), int(series_id))
