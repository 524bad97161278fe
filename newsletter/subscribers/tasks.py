"""Waking a worker for confirmation mail, and the one task the subscribers feature still owns.

Confirmations are rows in the `mail` outbox (see `confirmation`); the worker task that sends
them is the delivery feature's, published here by name (`core.celery_app.MAIL_TASK`) since
subscribers sits below delivery. `wake` is what signup and import call after their
transaction commits (`after_commit`): a hint that never fails the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from newsletter.core.celery_app import MAIL_TASK, app
from newsletter.core.celery_app import wake as publish_wake
from newsletter.core.db import models
from newsletter.core.db.models import Subscriber
from newsletter.core.db.session import transaction
from newsletter.subscribers import confirmation

log = logging.getLogger(__name__)


def wake(mail_ids: Sequence[int]) -> bool:
    """After commit: ask a worker to send these outbox rows now; False if the broker is down.

    Never raises: the rows are committed, so a failed publish only means the next tick
    (every NEWSLETTER_TICK_SECONDS) sends them instead.
    """
    return publish_wake(MAIL_TASK, mail_ids)


def queue_confirmation(subscriber_id: int, series_id: int) -> int | None:
    """Queue a confirmation for one person outside a signup, in its own transaction.

    None when the person no longer exists. Used for messages published before the outbox
    existed (below) and by operators' scripts; signup and import queue theirs in their own
    transaction instead.
    """
    with transaction() as session:
        if session.get(Subscriber, subscriber_id) is None:
            log.info("confirmation for subscriber %s not queued: gone", subscriber_id)
            return None
        mail_id = confirmation.queue(session, subscriber_id, series_id, models.utcnow())
    wake([mail_id])
    return mail_id


@app.task(name="newsletter.subscribers.tasks.send_confirmation")
def send_confirmation(subscriber_id: int, series_id: int) -> int | None:
    """A message from before the outbox (still in the broker during an upgrade): it becomes
    an outbox row, so no confirmation asked for before the upgrade is dropped."""
    return queue_confirmation(int(subscriber_id), int(series_id))
