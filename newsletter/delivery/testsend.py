"""Send one rendered part to an editor's address, marked as a test.

It goes straight through the configured transport because it is one message an editor is
waiting for; the sample links in it point nowhere real. Since the editor's request waits on
the SMTP server, that server gets `NEWSLETTER_TEST_SEND_TIMEOUT` seconds per step instead of
the delivery default, and a failure is a clear error page rather than a hung console.

Unlike a confirmation it is not a row in the `mail` outbox: it never touches the broker, and
whoever asked for it sees at once whether the server took it, so there is nothing a durable
row and a later retry would add. The global pause holds it like every other mail: while
sending is paused the console refuses it (409) rather than letting one through.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager

from newsletter.core.db.session import transaction
from newsletter.core.errors import Conflict, UserError
from newsletter.core.settings import Settings, get_settings
from newsletter.delivery import control
from newsletter.mail.errors import SendError
from newsletter.mail.oneoff import one_off_bytes
from newsletter.mail.smtp import SMTPTransport, parse_smtp_url
from newsletter.mail.transport import Transport, open_transport
from newsletter.render import RenderedIssue, sample_values
from newsletter.subscribers.addresses import normalise_email

log = logging.getLogger(__name__)


class TestSendFailed(UserError):
    """The mail server did not take the test message: a 502 page with what happened."""

    __test__ = False  # not a pytest class, whatever its name says
    http_status = 502


def send_test(
    rendered: RenderedIssue,
    slug: str,
    number: int,
    to: str,
    values: Mapping[str, str] | None = None,
) -> None:
    """Send one part to `to` now, outside the ledger, with sample reader values (or
    `values`: a serial part's preview adds its progress line and controls)."""
    settings = get_settings()
    address = normalise_email(to)
    with transaction() as session:
        if control.is_paused(session):
            raise Conflict("sending is paused; resume it on the queue page to send a test")
    html, text = rendered.personalise(values or sample_values(slug, number))
    envelope_from, data = one_off_bytes(
        settings,
        to_addr=address.email,
        to_name="",
        subject=f"[TEST] {rendered.subject}",
        html=html,
        text=text,
        list_slug=slug,
        idstring=f"test-{slug}-{number}",
        from_=rendered.sender,  # the series' own sender, as readers get the part
        reply_to=rendered.reply_to,
    )
    try:
        with _transport(settings) as transport:
            transport.send(envelope_from, address.email, data)
    except SendError as exc:
        log.warning("test message for %s part %s failed: %s", slug, number, type(exc).__name__)
        raise TestSendFailed(_failure_message(exc, settings.test_send_timeout)) from exc
    log.info("test message for %s part %s sent", slug, number)


def _transport(settings: Settings) -> AbstractContextManager[Transport]:
    """The configured transport; SMTP with the short console timeout."""
    if not settings.smtp_url:
        return open_transport(settings)
    config = parse_smtp_url(settings.smtp_url)
    timeout = min(config.timeout, settings.test_send_timeout)
    return SMTPTransport(dataclasses.replace(config, timeout=timeout))


def _failure_message(exc: SendError, timeout: float) -> str:
    """One line for the editor; the server's reply carries no subscriber data here."""
    if exc.code is None:
        return (
            "the test message was not sent: the mail server could not be reached or did "
            f"not answer within {timeout:g} seconds. Check NEWSLETTER_SMTP_URL and try again"
        )
    return f"the mail server refused the test message ({exc.code}); nothing was sent"
