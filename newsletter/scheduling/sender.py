"""A series' own sender: From name and address, Reply-To, footer text and postal address.

Each is optional on the series and falls back to the global setting (NEWSLETTER_FROM,
NEWSLETTER_POSTAL_ADDRESS), so a service with one voice needs no configuration per series.
The DKIM signing domain is the configured one whatever the series says.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from newsletter.core.db.models import Series
from newsletter.core.errors import UserError
from newsletter.core.settings import Settings, get_settings
from newsletter.render import RenderedIssue, render_issue
from newsletter.scheduling.series import series_content

# The series columns an editor may set, with their longest value.
SENDER_FIELDS = {
    "from_name": 200,
    "from_address": 320,
    "reply_to": 320,
    "footer_text": 2000,
    "postal_address": 500,
}
_LABELS = {
    "from_name": "From name",
    "from_address": "From address",
    "reply_to": "Reply-To",
    "footer_text": "footer text",
    "postal_address": "postal address",
}


@dataclass(frozen=True)
class SeriesSender:
    """The effective sender of one series' issues (what render and compose use)."""

    from_: str  # "Name <address>"
    reply_to: str  # "" = no Reply-To header
    footer: str
    postal_address: str


def sender_of(series: Series, settings: Settings) -> SeriesSender:
    """Resolve each field: the series' value, else the global one."""
    name, address = parseaddr(settings.from_)
    name = series.from_name or name
    address = series.from_address or address
    from_ = str(Address(display_name=name, addr_spec=address)) if name else address
    return SeriesSender(
        from_,
        series.reply_to or "",
        series.footer_text or "",
        series.postal_address or settings.postal_address,
    )


def clean_sender_field(field: str, value: str | None) -> str | None:
    """One sender setting checked and normalised; "" or None means "use the default".

    Addresses go through email-validator (no DNS lookups); header values refuse line
    breaks, and every value refuses control characters.
    """
    if field not in SENDER_FIELDS:
        raise UserError(f"unknown sender setting {field!r}")
    text = (value or "").strip()
    if not text:
        return None
    label = _LABELS[field]
    if len(text) > SENDER_FIELDS[field]:
        raise UserError(f"{label} is longer than {SENDER_FIELDS[field]} characters")
    multiline = field in ("footer_text", "postal_address")
    for ch in text:
        if ch in "\r\n" and not multiline:
            raise UserError(f"{label} must be one line")
        if unicodedata.category(ch) == "Cc" and ch not in "\r\n":
            raise UserError(f"{label} contains a control character")
    if field == "from_name" and any(ch in text for ch in '<>@"'):
        # A name holding an address reads as a second sender (a spoofing look-alike), and
        # quotes come out backslashed in some clients once the header is encoded.
        raise UserError('From name may not contain < > @ or "; put the address in From address')
    if field in ("from_address", "reply_to"):
        try:
            return validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise UserError(f"{label} {text[:80]!r} is not a valid address: {exc}") from None
    return text.replace("\r\n", "\n")


def render_part(
    session: Session, series: Series, number: int, *, serial: bool | None = None
) -> RenderedIssue:
    """Part `number` of a stored series as its readers get it: its snapshot, its mode's
    footer and its own sender (previews, test sends and the worker all call this).
    `serial=False` leaves out the per-reader footer (previews have no reader)."""
    sender = sender_of(series, get_settings())
    return render_issue(
        series_content(session, series.id),
        number,
        serial=series.mode == "serial" if serial is None else serial,
        sender=sender.from_,
        postal_address=sender.postal_address,
        footer=sender.footer,
        reply_to=sender.reply_to,
    )
