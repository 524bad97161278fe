"""VERP tokens: short, lower case, signed per purpose, and nothing else reads as one."""

from __future__ import annotations

import pytest

from newsletter.core.errors import InvalidToken
from newsletter.core.settings import get_settings, reset_settings
from newsletter.core.tokens import read_verp, verp_token
from newsletter.delivery.identity import Identity


def test_round_trip_and_case_insensitive() -> None:
    token = verp_token("bounce", 123456789)
    assert token == token.lower() and read_verp(token, "bounce") == (123456789,)
    assert read_verp(token.upper(), "bounce") == (123456789,)  # an MTA may change the case
    assert read_verp(verp_token("unsubscribe", 7, 3), "unsubscribe") == (7, 3)


def test_purposes_do_not_mix_and_forgeries_fail() -> None:
    token = verp_token("bounce", 42)
    with pytest.raises(InvalidToken):
        read_verp(token, "unsubscribe")
    body, _, mac = token.rpartition(".")
    for forged in (f"2b.{mac}", f"{body}.{'a' * 16}", body, "", "x" * 200, f"{body}.{mac}x"):
        with pytest.raises(InvalidToken):
            read_verp(forged, "bounce")


def test_the_secret_signs_them(monkeypatch) -> None:
    token = verp_token("bounce", 9)
    monkeypatch.setenv("NEWSLETTER_SECRET_KEY", "another-secret")
    reset_settings()
    with pytest.raises(InvalidToken):
        read_verp(token, "bounce")


def test_local_parts_fit_smtp(monkeypatch) -> None:
    """RFC 5321: a local part is at most 64 octets, even for the largest ids."""
    monkeypatch.setenv("NEWSLETTER_BOUNCE_DOMAIN", "bounces.example.com")
    reset_settings()
    identity = Identity.from_settings(get_settings())
    big = 2**63 - 1
    bounce = identity.envelope_sender(big)
    mailto = identity.unsubscribe_mailto_for(big, big)
    assert bounce.startswith("bounce+") and bounce.endswith("@bounces.example.com")
    assert len(bounce.partition("@")[0]) <= 64
    local = mailto.removeprefix("mailto:").partition("@")[0]
    assert local.startswith("unsubscribe+") and len(local) <= 64
    assert read_verp(local.removeprefix("unsubscribe+"), "unsubscribe") == (big, big)


def test_without_a_bounce_domain_nothing_changes() -> None:
    identity = Identity.from_settings(get_settings())
    assert identity.envelope_sender(5) == "letters@example.com"
    assert identity.unsubscribe_mailto_for(1, 2) == "mailto:letters@example.com?subject=unsubscribe"
