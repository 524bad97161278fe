"""Signed, purpose-scoped tokens for the links in our mail.

Each purpose gets its own salt, so a confirm token can never be replayed as an unsubscribe
token (or the other way round). Only confirm links expire: an unsubscribe link in a two-year
old email must still work, because a reader who wants out should always get out.

Timestamps come from `newsletter.core.db.models.utcnow()` so tests can move the clock.

VERP tokens (`verp_token`, `read_verp`) are the other kind: short enough for an SMTP local
part (`bounce+<token>@…` ≤ 64 characters) and lower case, because mail systems may change
the case of a local part. They never expire either: a bounce may come days later.
"""

from __future__ import annotations

import base64
import calendar
import functools
import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import int_to_bytes
from itsdangerous.signer import HMACAlgorithm

from newsletter.core.db import models
from newsletter.core.errors import InvalidToken
from newsletter.core.settings import get_settings

# "next", "pause" and "restart" are the reader's controls in every serial mail.
Purpose = Literal["confirm", "unsubscribe", "manage", "next", "pause", "restart"]
VerpPurpose = Literal["bounce", "mail", "unsubscribe"]  # a delivery, an outbox row, a subscription

# Seconds a token stays valid; None means it never expires.
MAX_AGE: dict[str, int | None] = {
    "confirm": 7 * 24 * 3600,
    "unsubscribe": None,
    "manage": None,
    "next": None,
    "pause": None,
    "restart": None,
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
    return _cached_serializer(get_settings().secret(), purpose)


@functools.lru_cache(maxsize=32)
def _cached_serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    """One serializer per (secret, purpose): building one is most of the cost of a token.
    Keyed by the secret itself, so a changed secret never reuses an old serializer."""
    return URLSafeTimedSerializer(secret, salt=f"newsletter.{purpose}", signer=_ClockSigner)


class _Minter:
    """`URLSafeTimedSerializer.dumps` for the `{"s": int, "r": int | None}` payload, byte
    for byte, without its per-call key derivation, JSON encoder and zlib attempt.

    Every newsletter carries two tokens, so this runs twice per message. The signing key is
    the one the serializer's own signer derives, and the HMAC is that signer's algorithm;
    `read_token` verifies these tokens with the ordinary serializer (a test holds the two
    to the same output).
    """

    def __init__(self, serializer: URLSafeTimedSerializer) -> None:
        signer = serializer.make_signer()
        assert isinstance(signer, _ClockSigner) and isinstance(signer.algorithm, HMACAlgorithm)
        self._mac = hmac.new(signer.derive_key(), digestmod=signer.algorithm.digest_method)
        self._sep = signer.sep.encode() if isinstance(signer.sep, str) else signer.sep
        self._timestamp = signer.get_timestamp

    def dumps(self, subscriber_id: int, series_id: int | None) -> str:
        # The compact JSON itsdangerous writes; zlib never shortens a payload this small,
        # so the serializer would not compress it either.
        series = "null" if series_id is None else str(int(series_id))
        payload = f'{{"s":{int(subscriber_id)},"r":{series}}}'.encode()
        value = b"".join(
            (
                _b64(payload),
                self._sep,
                _b64(int_to_bytes(self._timestamp())),
            )
        )
        mac = self._mac.copy()
        mac.update(value)
        return (value + self._sep + _b64(mac.digest())).decode("ascii")


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@functools.lru_cache(maxsize=32)
def _minter(secret: str, purpose: str) -> _Minter:
    return _Minter(_cached_serializer(secret, purpose))


def make_token(purpose: Purpose, subscriber_id: int, series_id: int | None = None) -> str:
    """A URL-safe token naming a subscriber (and optionally a series) for one purpose."""
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return _minter(get_settings().secret(), purpose).dumps(subscriber_id, series_id)


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


# -- VERP tokens -------------------------------------------------------------------------

_VERP_MAC_BYTES = 10  # 80 bits: 16 base32 characters
_VERP_BODY = frozenset("0123456789abcdefghijklmnopqrstuvwxyz-")


@functools.lru_cache(maxsize=8)
def _verp_hmac(secret: str) -> hmac.HMAC:
    """A keyed HMAC to copy per token (two per message when VERP is on): keying costs more
    than the hash of a few bytes. The key is derived from the secret for this use only."""
    key = hmac.new(secret.encode(), b"newsletter.verp", hashlib.sha256).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def _verp_mac(purpose: str, body: str) -> str:
    mac = _verp_hmac(get_settings().secret()).copy()
    mac.update(f"{purpose}:{body}".encode())
    return base64.b32encode(mac.digest()[:_VERP_MAC_BYTES]).decode("ascii").lower()


def verp_token(purpose: VerpPurpose, *ids: int) -> str:
    """`<ids in hex, dash-separated>.<mac>`, e.g. `1f.ab3…` (≤ 40 characters for two ids).

    The purpose is in the MAC, so a bounce token can never unsubscribe anyone.
    """
    if not ids or any(i < 0 for i in ids):
        raise ValueError("a VERP token names one or more non-negative ids")
    body = "-".join(f"{int(i):x}" for i in ids)
    return f"{body}.{_verp_mac(purpose, body)}"


def read_verp(token: str, purpose: VerpPurpose) -> tuple[int, ...]:
    """The ids of a genuine VERP token for `purpose`; `InvalidToken` for anything else."""
    body, _, mac = token.strip().lower().rpartition(".")
    if not body or len(body) > 40 or not set(body) <= _VERP_BODY or len(mac) != 16:
        raise InvalidToken(f"not a {purpose} token")
    if not hmac.compare_digest(mac, _verp_mac(purpose, body)):
        raise InvalidToken(f"not a {purpose} token")
    try:
        return tuple(int(part, 16) for part in body.split("-"))
    except ValueError as exc:
        raise InvalidToken(f"not a {purpose} token") from exc
