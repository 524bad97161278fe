"""What an inbound message is: a DSN, an ARF complaint, a mailto unsubscribe, or nothing of ours.

Pure: an `email.message.Message` and its envelope recipients in, a small frozen record out;
no database, no settings, no token checks. Everything here comes from the message body, so
nothing here is trusted: `apply` verifies every token and Message-ID before acting.

- A DSN (RFC 3464) is `multipart/report; report-type=delivery-status` with a
  `message/delivery-status` part: one block per message, then one per recipient (Action,
  Status, Final-Recipient, Original-Recipient). The returned message (`text/rfc822-headers`
  or `message/rfc822`) carries the original Message-ID.
- An ARF report (RFC 5965) is `multipart/report; report-type=feedback-report` with a
  `message/feedback-report` part (Feedback-Type, Original-Mail-From, Original-Rcpt-To).
- A mailto unsubscribe is any message to `unsubscribe+<token>@…` (RFC 8058's mailto form
  only asks for a message to the address; subject and body carry nothing we need).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr

BOUNCE_LOCAL = "bounce+"
UNSUBSCRIBE_LOCAL = "unsubscribe+"
_STATUS = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_ADDR_TYPE = re.compile(r"^\s*[a-z0-9-]+\s*;\s*", re.IGNORECASE)  # "rfc822; " in a DSN field


@dataclass(frozen=True)
class Recipient:
    """One per-recipient block of a DSN."""

    action: str  # failed | delayed | delivered | relayed | expanded (lower case)
    status: str  # "5.1.1"; "" when missing or malformed
    final_recipient: str  # the address, without its "rfc822;" type
    original_recipient: str


@dataclass(frozen=True)
class Dsn:
    token: str | None  # from a bounce+<token>@ envelope recipient
    recipients: tuple[Recipient, ...]
    original_message_id: str | None


@dataclass(frozen=True)
class Complaint:
    feedback_type: str
    tokens: tuple[str, ...]  # bounce tokens found: envelope, Original-Mail-From, Return-Path
    original_message_id: str | None


@dataclass(frozen=True)
class Unsubscribe:
    token: str


@dataclass(frozen=True)
class Other:
    reason: str  # for one log line; never an address


Inbound = Dsn | Complaint | Unsubscribe | Other


def local_token(address: str, prefix: str) -> str | None:
    """The token of `prefix<token>@domain` (case-insensitive), else None."""
    addr = parseaddr(address)[1] or address.strip().strip("<>")
    local, at, _ = addr.rpartition("@")
    if not at or not local.lower().startswith(prefix):
        return None
    return local[len(prefix) :].lower() or None


def _first_token(addresses: Sequence[str], prefix: str) -> str | None:
    for address in addresses:
        token = local_token(address, prefix)
        if token:
            return token
    return None


def status_class(status: str) -> str | None:
    """ "5.1.1" → "5"; None for anything that is not an RFC 3463 status."""
    match = _STATUS.match(status or "")
    return match.group(1) if match else None


def classify(msg: Message, envelope_recipients: Sequence[str] = ()) -> Inbound:
    """Sort one inbound message; `envelope_recipients` are RCPT TO (or the pipe's recipient).

    Without envelope recipients (a pipe that passes none), Delivered-To, X-Original-To and
    To stand in: they are only used to find a token, which `apply` then verifies.
    """
    recipients = list(envelope_recipients) or _header_recipients(msg)
    if msg.get_content_type() == "multipart/report":
        report_type = (msg.get_param("report-type") or "").lower()
        if report_type == "delivery-status":
            return _dsn(msg, recipients)
        if report_type == "feedback-report":
            return _complaint(msg, recipients)
        return Other(f"a report of type {report_type[:40]!r}")
    token = _first_token(recipients, UNSUBSCRIBE_LOCAL)
    if token:
        return Unsubscribe(token)
    if _first_token(recipients, BOUNCE_LOCAL):
        return Other("mail to a bounce address that is not a delivery-status report")
    return Other("not a report and not to an unsubscribe address")


def _header_recipients(msg: Message) -> list[str]:
    names = ("Delivered-To", "X-Original-To", "To")
    values = [str(v) for name in names for v in msg.get_all(name) or ()]
    return [addr for _, addr in getaddresses(values) if addr]


def _parts(msg: Message) -> list[Message]:
    payload = msg.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a `message/delivery-status` or `message/feedback-report` part.

    The stdlib parses delivery-status into a list of blocks and feedback-report into one
    message; a part that arrived as text (e.g. base64 encoded) is parsed here.
    """
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = part.get_payload(decode=True)
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(payload)
    chunks = re.split(r"\r?\n\s*\r?\n", raw.strip())
    return [HeaderParser().parsestr(chunk + "\n") for chunk in chunks if chunk.strip()]


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def _address_field(block: Message, name: str) -> str:
    return _ADDR_TYPE.sub("", _field(block, name)).strip("<> ").lower()


def _original_headers(msg: Message) -> Message | None:
    """The returned message's headers: a `text/rfc822-headers` or `message/rfc822` part."""
    for part in _parts(msg):
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = _parts(part)
            if inner:
                return inner[0]
        elif kind == "text/rfc822-headers":
            data = part.get_payload(decode=True)
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) else ""
            return HeaderParser().parsestr(text.replace("\r\n", "\n"))
    return None


def _message_id(headers: Message | None) -> str | None:
    if headers is None:
        return None
    value = " ".join(str(headers.get("Message-ID") or "").split())
    return value or None


def _dsn(msg: Message, recipients: list[str]) -> Inbound:
    status_part = next(
        (p for p in _parts(msg) if p.get_content_type() == "message/delivery-status"), None
    )
    if status_part is None:
        return Other("a delivery-status report without its message/delivery-status part")
    blocks = _blocks(status_part)
    found = tuple(
        Recipient(
            action=_field(block, "Action").lower(),
            status=_field(block, "Status").split(" ")[0],
            final_recipient=_address_field(block, "Final-Recipient"),
            original_recipient=_address_field(block, "Original-Recipient"),
        )
        for block in blocks[1:] or blocks
        if block.get("Action") is not None or block.get("Final-Recipient") is not None
    )
    if not found:
        return Other("a delivery-status report naming no recipient")
    return Dsn(
        token=_first_token(recipients, BOUNCE_LOCAL),
        recipients=found,
        original_message_id=_message_id(_original_headers(msg)),
    )


def _complaint(msg: Message, recipients: list[str]) -> Inbound:
    report = next(
        (p for p in _parts(msg) if p.get_content_type() == "message/feedback-report"), None
    )
    if report is None:
        return Other("a feedback report without its message/feedback-report part")
    fields = _blocks(report)
    block = fields[0] if fields else Message()
    feedback_type = _field(block, "Feedback-Type").lower()
    if feedback_type != "abuse":
        return Other(f"a feedback report of type {feedback_type[:20]!r}")
    original = _original_headers(msg)
    candidates = [
        *recipients,
        _field(block, "Original-Mail-From"),
        *([str(original.get("Return-Path", ""))] if original is not None else []),
    ]
    tokens = tuple(dict.fromkeys(t for c in candidates if (t := local_token(c, BOUNCE_LOCAL))))
    return Complaint(feedback_type, tokens, _message_id(original))
