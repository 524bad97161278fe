"""Send one rendered part to an editor's address, marked as a test.

It goes straight through the configured transport because it is one message an editor is
waiting for; the sample links in it point nowhere real. (A `transactional` Celery task for
this would belong to the delivery feature.)
"""

from __future__ import annotations

import logging
from email.utils import make_msgid, parseaddr

from newsletter.errors import UserError
from newsletter.mail.errors import SendError
from newsletter.mail.message import build_message, to_bytes
from newsletter.mail.transport import open_transport
from newsletter.render import RenderedIssue, sample_values
from newsletter.settings import get_settings
from newsletter.subscribers.addresses import normalise_email

log = logging.getLogger(__name__)


def send_test(rendered: RenderedIssue, slug: str, number: int, to: str) -> None:
    settings = get_settings()
    address = normalise_email(to)
    html, text = rendered.personalise(sample_values(slug, number))
    envelope_from = parseaddr(settings.from_)[1]
    domain = envelope_from.rpartition("@")[2] or "localhost"
    message = build_message(
        sender=settings.from_,
        to_addr=address.email,
        to_name="",
        subject=f"[TEST] {rendered.subject}",
        html=html,
        text=text,
        message_id=make_msgid(idstring=f"test-{slug}-{number}", domain=domain),
        list_id=f"{slug}.{domain}",
        unsubscribe_url=None,
        unsubscribe_mailto=None,
    )
    try:
        with open_transport(settings) as transport:
            transport.send(envelope_from, address.email, to_bytes(message))
    except SendError as exc:
        log.warning("test message for %s part %s failed: %s", slug, number, type(exc).__name__)
        raise UserError("the mail server did not accept the test message; try again") from exc
    log.info("test message for %s part %s sent", slug, number)
