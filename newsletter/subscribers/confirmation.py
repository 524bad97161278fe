"""The double opt-in confirmation mail: render it, send it, retry a little, suppress on 5.1.x.

It runs in a worker (`subscribers.tasks.send_confirmation`, on the `transactional` queue that
workers serve ahead of `bulk`), so a web request never waits on SMTP and a confirmation
overtakes a running issue. Payloads are ids: the subscriber is re-read, so the mail can be
delivered from any process.

There is no ledger row for a confirmation and broker countdowns are off-limits, so a
transient SMTP failure is retried a couple of times within the task (seconds, not minutes);
if the server is still unavailable the mail is dropped with a warning, and the signup form
lets the person ask again. An unknown mailbox suppresses the address like any bounce.
"""

from __future__ import annotations

import logging
import time

from newsletter.core.db.models import Series, Subscriber
from newsletter.core.db.session import transaction
from newsletter.core.settings import get_settings
from newsletter.core.tokens import make_token
from newsletter.mail.errors import PermanentSendError, TransientSendError
from newsletter.mail.oneoff import one_off_bytes
from newsletter.mail.transport import open_transport
from newsletter.render import render_email
from newsletter.subscribers.lifecycle import REACHABLE
from newsletter.subscribers.suppression import mark_bounced

log = logging.getLogger(__name__)

PAUSES = (1.0, 4.0)  # seconds before the second and third attempt


def confirm_url(subscriber_id: int, series_id: int) -> str:
    token = make_token("confirm", subscriber_id, series_id)
    return f"{get_settings().base_url.rstrip('/')}/confirm/{token}"


def send_confirmation_now(subscriber_id: int, series_id: int) -> bool:
    """Deliver the confirmation mail; True when the server accepted it."""
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
                with transaction() as session:
                    mark_bounced(session, subscriber_id, f"confirmation bounced: {exc}")
            return False
    return False


def deliver_confirmation(subscriber_id: int, series_id: int) -> bool:
    """Render and send the confirm mail; False (logged by id) when there is nothing to send."""
    with transaction() as session:
        subscriber = session.get(Subscriber, subscriber_id)
        series = session.get(Series, series_id)
        if subscriber is None or series is None or subscriber.email is None:
            log.info("confirmation for subscriber %s skipped: gone", subscriber_id)
            return False
        if subscriber.status not in REACHABLE:
            log.info("confirmation for subscriber %s skipped: %s", subscriber_id, subscriber.status)
            return False
        to_addr, to_name, title, slug = subscriber.email, subscriber.name, series.title, series.slug
    settings = get_settings()
    subject, html, text = render_email(
        "confirm",
        {
            "series_title": title,
            "name": to_name,
            "confirm_url": confirm_url(subscriber_id, series_id),
        },
    )
    envelope_from, data = one_off_bytes(
        settings,
        to_addr=to_addr,
        to_name=to_name,
        subject=subject,
        html=html,
        text=text,
        list_slug=slug,
        idstring=f"confirm{subscriber_id}",
    )
    with open_transport(settings) as transport:
        transport.send(envelope_from, to_addr, data)
    log.info("confirmation sent to subscriber %s for series %s", subscriber_id, series_id)
    return True
