"""The subscribers feature's Celery task: the confirmation mail, on the `transactional` queue.

`queue_confirmation` is what signup and import call after their transaction commits
(`after_commit`), so a worker never sees a subscriber that is not committed yet.
"""

from __future__ import annotations

from newsletter.core.celery_app import TRANSACTIONAL, app, ensure_broker_folders
from newsletter.subscribers import confirmation


@app.task(name="newsletter.subscribers.tasks.send_confirmation")
def send_confirmation(subscriber_id: int, series_id: int) -> bool:
    """The double opt-in mail, on the `transactional` queue ahead of any bulk send."""
    return confirmation.send_confirmation_now(int(subscriber_id), int(series_id))


def queue_confirmation(subscriber_id: int, series_id: int) -> None:
    """After commit: queue the confirmation mail (ahead of any bulk backlog)."""
    ensure_broker_folders()
    send_confirmation.apply_async(
        args=[subscriber_id, series_id], queue=TRANSACTIONAL, routing_key=TRANSACTIONAL
    )
