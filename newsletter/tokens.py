"""Signed, purpose-scoped tokens for the links in our mail.

Each purpose gets its own salt, so a confirm token can never be replayed as an unsubscribe
token (or the other way round). Only confirm links expire: an unsubscribe link in a two-year
old email must still work, because a reader who wants out should always get out.

Timestamps come from `newsletter.db.models.utcnow()` so tests can move the clock.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from newsletter.db import models
from newsletter.errors import InvalidToken
from newsletter.settings import get_settings

Purpose = Literal["confirm", "unsubscribe", "manage"]

# Seconds a token stays valid; None means it never expires.
MAX_AGE: dict[str, int | None] = {
    "confirm": 7 * 24 * 3600,
    "unsubscribe": None,
    "manage": None,
}


class ExpiredToken(InvalidToken):
    """A genuine token that is too old; the user can ask for a fresh one."""


@dataclass(frozen=True)
class TokenData:
    subscriber_id: int
    series_id: int | None


class _ClockSigner(TimestampSigner):
    """A TimestampSigner on the project clock instead of `time.time()`."""

    def get_timestamp(self) -> int:
        return calendar.timegm(models.utcnow().timetuple())


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeTimedSerializer(
        get_settings().secret(), salt=f"newsletter.{purpose}", signer=_ClockSigner
    )


def make_token(purpose: Purpose, subscriber_id: int, series_id: int | None = None) -> str:
    """A URL-safe token naming a subscriber (and optionally a series) for one purpose."""
    return _serializer(purpose).dumps({"s": subscriber_id, "r": series_id})


def read_token(token: str, purpose: Purpose) -> TokenData:
    """Verify `token` for `purpose`; raise `ExpiredToken` or `InvalidToken`, never crash."""
    serializer = _serializer(purpose)
    try:
        payload = serializer.loads(token, max_age=MAX_AGE[purpose])
    except SignatureExpired as exc:
        raise ExpiredToken(
            f"this {purpose} link has expired; please sign up again for a new one"
        ) from exc
    except (BadData, UnicodeError, ValueError, TypeError) as exc:
        raise InvalidToken(f"this {purpose} link is invalid or incomplete") from exc
    try:
        subscriber_id = int(payload["s"])
        series_id = None if payload.get("r") is None else int(payload["r"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidToken(f"this {purpose} link is invalid or incomplete") from exc
    return TokenData(subscriber_id, series_id)
