"""Address and name rules shared by signup, the CLI and the CSV import.

Addresses are normalised by email-validator (no DNS: signup must not depend on the network)
and compared case-insensitively through `email_key`. Names end up in `To:` headers, so CR/LF
(header injection) and other control characters are refused outright rather than stripped.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from newsletter.core.errors import UserError

MAX_NAME = 200


class InvalidAddress(UserError):
    """The address is not a syntactically valid email address."""


class InvalidName(UserError):
    """The name contains line breaks or control characters, or is too long."""


@dataclass(frozen=True)
class Address:
    email: str  # normalised, as we send to it
    key: str  # lower-cased normalised form: the uniqueness key


def normalise_email(raw: str) -> Address:
    """Validate and normalise `raw`; raise `InvalidAddress` with a one-line reason."""
    text = (raw or "").strip()
    if not text:
        raise InvalidAddress("email address is empty")
    if any(ch in text for ch in "\r\n"):
        raise InvalidAddress("email address contains a line break")
    if "\ufffd" in text:  # what a form decoder leaves for bytes that were not UTF-8 (%FF)
        raise InvalidAddress("email address is not valid UTF-8 text")
    try:
        normalized = validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidAddress(f"invalid email address: {exc}") from exc
    return Address(email=normalized, key=email_key(normalized))


def email_key(normalized: str) -> str:
    return normalized.lower()


def check_header_value(value: str, field: str = "name") -> str:
    """Return `value` stripped, or raise if it could break out of a mail header."""
    text = (value or "").strip()
    if "\r" in text or "\n" in text:
        raise InvalidName(f"{field} must not contain line breaks")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidName(f"{field} must not contain control characters")
    return text


def clean_name(value: str | None) -> str:
    name = check_header_value(value or "", "name")
    if len(name) > MAX_NAME:
        raise InvalidName(f"name is longer than {MAX_NAME} characters")
    return name
