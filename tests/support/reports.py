"""Inbound mail as MTAs and mailbox providers write it: DSNs (RFC 3464), ARF reports (RFC 5965)
and a mail client's mailto unsubscribe, as wire bytes for `newsletter inbound`.

The DSN is shaped like Postfix's (text/plain notice, message/delivery-status, returned
headers as text/rfc822-headers); the ARF report like the common feedback loops' (the
original message as message/rfc822 with its Return-Path).
"""

from __future__ import annotations

import uuid

BOUNDARY = "=_report_boundary"


def _id() -> str:
    return f"<{uuid.uuid4().hex}@mx.example.net>"


def dsn(
    *,
    to: str,
    recipient: str,
    status: str = "5.1.1",
    action: str | None = None,
    original_message_id: str | None = None,
    message_id: str | None = None,
) -> bytes:
    """A DSN to `to` (our bounce+token@ address, or a rewritten return path) about
    `recipient`; `action` defaults by the status class (failed, delayed for 4.x.x)."""
    action = action or ("delayed" if status.startswith("4") else "failed")
    returned = (
        f"Message-ID: {original_message_id}\r\n" if original_message_id else ""
    ) + "From: Tech Labor Letters <letters@example.com>\r\nSubject: Part 1\r\n"
    text = (
        f"From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
        f"To: {to}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {message_id or _id()}\r\n"
        f"Auto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{BOUNDARY}"\r\n'
        f"\r\n"
        f"--{BOUNDARY}\r\n"
        f"Content-Type: text/plain; charset=us-ascii\r\n"
        f"\r\n"
        f"I'm sorry to have to inform you that your message could not be delivered.\r\n"
        f"\r\n"
        f"--{BOUNDARY}\r\n"
        f"Content-Type: message/delivery-status\r\n"
        f"\r\n"
        f"Reporting-MTA: dns; mx.example.net\r\n"
        f"Arrival-Date: Mon, 30 Nov 2026 09:00:00 +0000\r\n"
        f"\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} mailbox problem\r\n"
        f"\r\n"
        f"--{BOUNDARY}\r\n"
        f"Content-Type: text/rfc822-headers\r\n"
        f"\r\n"
        f"{returned}"
        f"\r\n"
        f"--{BOUNDARY}--\r\n"
    )
    return text.encode("ascii")


def arf(
    *,
    to: str = "fbl@bounces.example.com",
    return_path: str | None = None,
    original_message_id: str | None = None,
    feedback_type: str = "abuse",
    message_id: str | None = None,
) -> bytes:
    """An ARF report to our feedback-loop address; the original carries `return_path`
    (our bounce+token@ address) and `original_message_id`."""
    original = ""
    if return_path:
        original += f"Return-Path: <{return_path}>\r\n"
    if original_message_id:
        original += f"Message-ID: {original_message_id}\r\n"
    original += "From: letters@example.com\r\nSubject: Part 1\r\n\r\nThe essay.\r\n"
    mail_from = f"Original-Mail-From: <{return_path}>\r\n" if return_path else ""
    text = (
        f"From: feedback@isp.example.net\r\n"
        f"To: {to}\r\n"
        f"Subject: FW: Part 1\r\n"
        f"Message-ID: {message_id or _id()}\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=feedback-report; boundary="{BOUNDARY}"\r\n'
        f"\r\n"
        f"--{BOUNDARY}\r\n"
        f"Content-Type: text/plain; charset=us-ascii\r\n"
        f"\r\n"
        f"This is an email abuse report.\r\n"
        f"\r\n"
        f"--{BOUNDARY}\r\n"
        f"Content-Type: message/feedback-report\r\n"
        f"\r\n"
        f"Feedback-Type: {feedback_type}\r\n"
        f"User-Agent: SomeGenerator/1.0\r\n"
        f"Version: 1\r\n"
        f"{mail_from}"
        f"\r\n"
        f"--{BOUNDARY}\r\n"
        f"Content-Type: message/rfc822\r\n"
        f"\r\n"
        f"{original}"
        f"\r\n"
        f"--{BOUNDARY}--\r\n"
    )
    return text.encode("ascii")


def unsubscribe_mail(to: str, *, message_id: str | None = None) -> bytes:
    """What a mail client sends for a List-Unsubscribe mailto."""
    return (
        f"From: reader@example.org\r\n"
        f"To: {to}\r\n"
        f"Subject: unsubscribe\r\n"
        f"Message-ID: {message_id or _id()}\r\n"
        f"\r\n"
        f"unsubscribe\r\n"
    ).encode("ascii")
