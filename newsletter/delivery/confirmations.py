"""Confirmation mail from the `transactional` queue, with a short in-task retry.

There is no ledger row for a confirmation and broker countdowns are off-limits, so a
transient SMTP failure is retried a couple of times within the task (seconds, not minutes);
if the server is still unavailable the mail is dropped with a warning, and the signup form
lets the person ask again. An unknown mailbox suppresses the address like any bounce.
"""

from __future__ import annotations

import logging
import time

from newsletter.db.session import transaction
from newsletter.mail.errors import PermanentSendError, TransientSendError

log = logging.getLogger(__name__)

PAUSES = (1.0, 4.0)  # seconds before the second and third attempt


def send_confirmation_now(subscriber_id: int, series_id: int) -> bool:
    """Deliver the confirmation mail; True when the server accepted it."""
    from newsletter.subscribers.notify import deliver_confirmation

    for attempt, pause in enumerate((*PAUSES, None), start=1):
        try:
            return deliver_confirmation(subscriber_id, series_id)
        except TransientSendError as exc:
            if pause is None:
                log.warning(
                    "confirmation for subscriber %s dropped after %s attempts: %s",
                    subscriber_id,
                    attempt,
                    exc.code,
                )
                return False
            time.sleep(pause)
        except PermanentSendError as exc:
            log.warning("confirmation for subscriber %s refused: %s", subscriber_id, exc.code)
            if exc.is_mailbox_unknown:
                from newsletter.subscribers.service import mark_bounced

                with transaction() as session:
                    mark_bounced(session, subscriber_id, f"confirmation bounced: {exc}")
            return False
    return False
