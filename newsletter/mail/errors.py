"""What a failed send means: retry later (transient) or never (permanent).

The delivery ledger acts on this classification: transient failures go back to `pending`
with a backoff, permanent ones are recorded as failed, and mailbox-unknown permanent
failures also mark the subscriber bounced. RFC 3463 enhanced status codes (`5.1.1`) are
the reliable signal; bare reply codes are only trusted together with their text.
"""

from __future__ import annotations

import re

__all__ = [
    "PermanentSendError",
    "SendError",
    "TransientSendError",
    "classify",
    "parse_enhanced",
]

_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")
_UNKNOWN_USER = re.compile(
    r"user unknown|unknown user|no such user|mailbox unavailable|mailbox not found|"
    r"no such (?:mailbox|recipient)|recipient (?:address )?rejected|does not exist|"
    r"invalid (?:mailbox|recipient)",
    re.IGNORECASE,
)


def parse_enhanced(reply: str) -> str | None:
    """The RFC 3463 code at the start of a reply text ("5.1.1 User unknown" → "5.1.1")."""
    match = _ENHANCED.match(reply)
    return ".".join(match.groups()) if match else None


class SendError(Exception):
    """A send that did not end in 250. `code` is None when no reply came (network)."""

    def __init__(self, code: int | None, reply: str, enhanced: str | None = None) -> None:
        self.code = code
        self.reply = reply
        self.enhanced = enhanced if enhanced is not None else parse_enhanced(reply)
        super().__init__(f"{code or 'no reply'} {reply}".strip())


class TransientSendError(SendError):
    """4xx or a connection problem: the same message may succeed later."""


class PermanentSendError(SendError):
    """5xx: retrying will not help."""

    @property
    def is_mailbox_unknown(self) -> bool:
        """The address is dead (5.1.x), so the subscriber should be marked bounced.

        Without an enhanced code, a bare 550/551/553 counts only when its text says so:
        550 is also used for policy and spam rejections, which say nothing about the
        mailbox.
        """
        if self.enhanced:
            return self.enhanced.startswith("5.1.")
        return self.code in (550, 551, 553) and bool(_UNKNOWN_USER.search(self.reply))


def classify(code: int | None, reply: str | bytes) -> SendError:
    """The exception for an SMTP reply (`code` None or < 400 → transient: no verdict)."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    text = " ".join(text.split())  # multi-line replies on one line
    enhanced = parse_enhanced(text)
    if code is not None and 500 <= code < 600:
        return PermanentSendError(code, text, enhanced)
    if code is None and enhanced and enhanced.startswith("5."):
        return PermanentSendError(code, text, enhanced)
    return TransientSendError(code, text, enhanced)
