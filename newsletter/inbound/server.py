"""`newsletter inbound`'s SMTP side: an aiosmtpd server behind the bounce domain's MX.

It accepts mail for the bounce domain only (any address there: `bounce+…`, `unsubscribe+…`,
a feedback-loop or postmaster mailbox), so it never looks like a relay. Each message is
read and acted on (`apply.receive`) in a worker thread, off the event loop, in one
transaction; the reply says what the sender should do: 250 once it is recorded (or dropped
as none of ours), 451 while the database is away (the sending MTA queues and retries),
554 for bytes that are no message. Logs carry outcomes, never addresses.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.exc import DBAPIError, IntegrityError

from newsletter.core.db.session import transaction
from newsletter.core.settings import Settings
from newsletter.inbound.apply import DUPLICATE, Unreadable, receive

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # reports quote the original; ours are ~20 kB


def handle(raw: bytes, recipients: list[str], settings: Settings) -> str:
    """Receive one message in its own transaction; the outcome, or DUPLICATE when another
    connection recorded the same report a moment earlier (the unique key)."""
    try:
        with transaction() as session:
            return receive(session, raw, recipients, settings)
    except IntegrityError:
        return DUPLICATE


class InboundHandler:
    """aiosmtpd hooks: RCPT checks the domain, DATA reads and applies the message."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.domain = settings.bounce_domain.strip().lower()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        domain = address.rpartition("@")[2].lower()
        if self.domain and domain != self.domain:
            return "550 5.7.1 relaying denied"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(
                None, handle, data, list(envelope.rcpt_tos), self.settings
            )
        except Unreadable:
            return "554 5.6.0 not a mail message"
        except DBAPIError as exc:
            log.warning("inbound: database unavailable (%s); asked to retry", type(exc).__name__)
            return "451 4.3.0 temporarily unable to record this message, try again later"
        log.info("inbound message: %s", outcome)
        return "250 2.0.0 OK"


def controller(settings: Settings, host: str, port: int, **kwargs: Any) -> Controller:
    """The server, not yet started (`start()` binds and runs it in a thread)."""
    return Controller(
        InboundHandler(settings),
        hostname=host,
        port=port,
        data_size_limit=MAX_MESSAGE_BYTES,
        enable_SMTPUTF8=True,
        **kwargs,
    )
