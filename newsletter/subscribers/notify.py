"""The double opt-in confirmation mail.

`send_confirmation` is what the services call after their transaction commits: it puts the
mail on the `transactional` Celery queue, which workers serve ahead of `bulk`, so a web
request never waits on SMTP and a confirmation overtakes a running issue. The worker then
calls `deliver_confirmation`, which renders and sends through the configured transport
(SMTP, or the local Maildir outbox when NEWSLETTER_SMTP_URL is unset). Payloads are ids:
the subscriber is re-read, so the mail can be delivered from any process.
"""

from __future__ import annotations

import logging

from newsletter.db.models import Series, Subscriber, SubscriberStatus
from newsletter.db.session import transaction
from newsletter.render import render_email
from newsletter.settings import get_settings
from newsletter.tokens import make_token

log = logging.getLogger(__name__)


def confirm_url(subscriber_id: int, series_id: int) -> str:
    token = make_token("confirm", subscriber_id, series_id)
    return f"{get_settings().base_url.rstrip('/')}/confirm/{token}"


def send_confirmation(subscriber_id: int, series_id: int) -> bool:
    """After commit: queue the confirmation mail on the transactional queue."""
    from newsletter.delivery.enqueue import confirmation_later

    confirmation_later(subscriber_id, series_id)
    return True


def deliver_confirmation(subscriber_id: int, series_id: int) -> bool:
    """Render and send the confirm mail; False (logged by id) when there is nothing to send."""
    from newsletter.mail.oneoff import one_off_bytes
    from newsletter.mail.transport import open_transport

    with transaction() as session:
        subscriber = session.get(Subscriber, subscriber_id)
        series = session.get(Series, series_id)
        if subscriber is None or series is None or subscriber.email is None:
            log.info("confirmation for subscriber %s skipped: gone", subscriber_id)
            return False
        if subscriber.status not in (SubscriberStatus.PENDING, SubscriberStatus.ACTIVE):
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
