"""Where messages go: an SMTP server, or a local Maildir outbox when none is configured.

`open_transport()` picks by `NEWSLETTER_SMTP_URL`. The Maildir fallback is what lets the
demo deliver with nothing running: every message becomes one file in `<data_dir>/outbox`,
readable by any mail client that speaks Maildir.
"""

from __future__ import annotations

import contextlib
import mailbox
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from newsletter.core.settings import Settings, get_settings
from newsletter.mail.errors import PermanentSendError, SendError, TransientSendError
from newsletter.mail.smtp import SmtpConfig, SMTPTransport, SmtpUrlError, parse_smtp_url

__all__ = [
    "MaildirTransport",
    "PermanentSendError",
    "SMTPTransport",
    "SendError",
    "SmtpConfig",
    "SmtpUrlError",
    "Transport",
    "TransientSendError",
    "open_transport",
    "parse_smtp_url",
]


class Transport(Protocol):
    """One way out. `send` returns the accepting reply ("250 …") or raises a SendError."""

    def send(self, sender: str, recipient: str, data: bytes) -> str: ...

    def close(self) -> None: ...


class MaildirTransport:
    """A real Maildir: each message is written to tmp/ and renamed into new/ (atomic),
    so concurrent workers never clash and a half-written message is never visible."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._box = mailbox.Maildir(self.path, factory=None, create=True)

    def send(self, sender: str, recipient: str, data: bytes) -> str:
        # What a local delivery agent adds, so the envelope is visible in the file.
        envelope = (
            f"Return-Path: <{sender}>\r\nDelivered-To: {recipient}\r\n".encode()
            if "\n" not in sender + recipient and "\r" not in sender + recipient
            else b""
        )
        try:
            key = self._box.add(envelope + data)
        except OSError as exc:  # disk full, permissions: may well pass later
            raise TransientSendError(None, f"outbox write failed: {exc.strerror}") from exc
        return f"250 2.0.0 Ok: queued as {key}"

    def close(self) -> None:
        self._box.close()

    def __enter__(self) -> MaildirTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def outbox_path(settings: Settings | None = None) -> Path:
    """The Maildir used when NEWSLETTER_SMTP_URL is unset."""
    return (settings or get_settings()).data_dir / "outbox"


@contextlib.contextmanager
def open_transport(settings: Settings | None = None) -> Iterator[Transport]:
    """The configured transport, closed (SMTP QUIT) when the block ends.

    Open one per batch: the SMTP transport keeps its connection across sends.
    """
    s = settings or get_settings()
    transport: Transport
    if s.smtp_url:
        transport = SMTPTransport(parse_smtp_url(s.smtp_url))
    else:
        transport = MaildirTransport(outbox_path(s))
    try:
        yield transport
    finally:
        transport.close()
