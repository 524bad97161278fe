"""One-off transactional messages (confirmations, console test sends).

Bulk issues get a deterministic Message-ID per delivery from the ledger. A one-off sent from
the `mail` outbox passes the Message-ID its row stored before the send (the same on every
attempt); one without a row gets a fresh `make_msgid`. No List-Unsubscribe: not list mail.
"""

from __future__ import annotations

from email.utils import make_msgid, parseaddr

from newsletter.core.settings import Settings
from newsletter.mail.message import build_message, to_bytes


def envelope_sender(settings: Settings) -> tuple[str, str]:
    """(bare envelope address, its domain) from NEWSLETTER_FROM."""
    address = parseaddr(settings.from_)[1]
    return address, address.rpartition("@")[2] or "localhost"


def one_off_bytes(
    settings: Settings,
    *,
    to_addr: str,
    to_name: str,
    subject: str,
    html: str,
    text: str,
    list_slug: str,
    idstring: str,
    message_id: str | None = None,
    from_: str = "",
    reply_to: str = "",
) -> tuple[str, bytes]:
    """Build and serialise a one-off message; returns (envelope sender, wire bytes).
    `from_` and `reply_to` are a series' own sender (a test of its part); "" is the
    global From and no Reply-To."""
    sender, domain = envelope_sender(settings)
    message = build_message(
        sender=from_ or settings.from_,
        to_addr=to_addr,
        to_name=to_name,
        subject=subject,
        html=html,
        text=text,
        message_id=message_id or make_msgid(idstring=idstring, domain=domain),
        list_id=f"{list_slug}.{domain}",
        unsubscribe_url=None,
        unsubscribe_mailto=None,
        extra_headers={"Reply-To": reply_to} if reply_to else None,
    )
    return sender, to_bytes(message)
