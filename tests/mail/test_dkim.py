"""DKIM: signatures verify, cover the list headers, and come from NEWSLETTER_DKIM_*."""

from __future__ import annotations

from pathlib import Path

import dkim
import pytest

from newsletter.core.settings import reset_settings
from newsletter.mail.dkim import DkimConfigError, DkimSigner, signer_from_settings
from newsletter.mail.message import to_bytes
from tests.support.mail import sample_message
from tests.support.rsakeys import generate


@pytest.fixture(scope="module")
def keypair() -> tuple[bytes, bytes]:
    return generate()


def dns(txt: bytes):  # type: ignore[no-untyped-def]
    def lookup(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"nl2026._domainkey.example.com."
        return txt

    return lookup


@pytest.fixture
def dkim_env(monkeypatch: pytest.MonkeyPatch, keypair: tuple[bytes, bytes]) -> bytes:
    monkeypatch.setenv("NEWSLETTER_DKIM_SELECTOR", "nl2026")
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", "example.com")
    monkeypatch.setenv("NEWSLETTER_DKIM_PRIVATE_KEY", keypair[0].decode())
    reset_settings()
    return keypair[1]


def test_to_bytes_signs_when_configured_and_it_verifies(dkim_env: bytes) -> None:
    data = to_bytes(sample_message())
    assert data.startswith(b"DKIM-Signature:")
    assert dkim.verify(data, dnsfunc=dns(dkim_env))


def test_signature_covers_list_headers(dkim_env: bytes) -> None:
    data = to_bytes(sample_message())
    header = data.split(b"\r\n\r\n", 1)[0].decode()
    h_tag = header.split(" h=", 1)[1].split(";", 1)[0].replace("\r\n", "").replace(" ", "")
    signed = set(h_tag.lower().split(":"))
    assert {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    } <= signed


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"unsubscribe/TOKEN123>", b"unsubscribe/TOKEN999>"),
        (b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: x=y"),
        (b"Subject: Part 2", b"Subject: Part 3"),
    ],
)
def test_tampering_breaks_the_signature(dkim_env: bytes, old: bytes, new: bytes) -> None:
    data = to_bytes(sample_message())
    assert old in data
    assert not dkim.verify(data.replace(old, new, 1), dnsfunc=dns(dkim_env))


def test_adding_one_click_later_breaks_the_signature(dkim_env: bytes) -> None:
    """Oversigning: an absent List-Unsubscribe-Post cannot be added by a relay."""
    data = to_bytes(sample_message(unsubscribe_url=None))
    forged = data.replace(
        b"\r\n\r\n", b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n", 1
    )
    assert dkim.verify(data, dnsfunc=dns(dkim_env))
    assert not dkim.verify(forged, dnsfunc=dns(dkim_env))


def test_key_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, keypair: tuple[bytes, bytes]
) -> None:
    key = tmp_path / "dkim.pem"
    key.write_bytes(keypair[0])
    monkeypatch.setenv("NEWSLETTER_DKIM_SELECTOR", "nl2026")
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", "example.com")
    monkeypatch.setenv("NEWSLETTER_DKIM_PRIVATE_KEY_FILE", str(key))
    reset_settings()
    assert dkim.verify(to_bytes(sample_message()), dnsfunc=dns(keypair[1]))


def test_unconfigured_means_unsigned() -> None:
    assert signer_from_settings() is None
    assert not to_bytes(sample_message()).startswith(b"DKIM-Signature")


def test_half_configured_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSLETTER_DKIM_SELECTOR", "nl2026")
    reset_settings()
    with pytest.raises(DkimConfigError, match="NEWSLETTER_DKIM_DOMAIN"):
        to_bytes(sample_message())


def test_missing_key_file_is_a_user_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWSLETTER_DKIM_SELECTOR", "nl2026")
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", "example.com")
    monkeypatch.setenv("NEWSLETTER_DKIM_PRIVATE_KEY_FILE", str(tmp_path / "nope.pem"))
    reset_settings()
    with pytest.raises(DkimConfigError, match="cannot read"):
        signer_from_settings()


def test_signer_can_be_used_directly(keypair: tuple[bytes, bytes]) -> None:
    signer = DkimSigner("nl2026", "example.com", keypair[0])
    assert dkim.verify(signer.sign(to_bytes(sample_message(), sign=False)), dnsfunc=dns(keypair[1]))
