"""DKIM: RSA and Ed25519 signatures verify with dkimpy, cover the list headers, survive an
SMTP hop byte for byte, and come from NEWSLETTER_DKIM_*."""

from __future__ import annotations

import base64
from pathlib import Path

import dkim
import pytest
from dkim.canonicalization import Relaxed

from newsletter.core.settings import reset_settings
from newsletter.mail.dkim import (
    DkimConfigError,
    DkimKey,
    DkimSigner,
    relaxed_body,
    signer_from_settings,
)
from newsletter.mail.dkimkeys import load_private_key
from newsletter.mail.message import to_bytes
from newsletter.mail.smtp import SMTPTransport, parse_smtp_url
from tests.support.dkimkeys import KeyPair, dns_stub, ed25519_pair, rsa_pair, write_key
from tests.support.mail import sample_message
from tests.support.smtp_sink import SmtpSink

RSA_NAME = "nl2026._domainkey.example.com"
ED_NAME = "nl2026e._domainkey.example.com"


@pytest.fixture(scope="module")
def rsa_key() -> KeyPair:
    return rsa_pair()


@pytest.fixture(scope="module")
def ed_key() -> KeyPair:
    return ed25519_pair()


@pytest.fixture
def dns(rsa_key: KeyPair, ed_key: KeyPair):  # type: ignore[no-untyped-def]
    return dns_stub({RSA_NAME: rsa_key.txt, ED_NAME: ed_key.txt})


@pytest.fixture
def rsa_env(monkeypatch: pytest.MonkeyPatch, rsa_key: KeyPair) -> None:
    monkeypatch.setenv("NEWSLETTER_DKIM_SELECTOR", "nl2026")
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", "example.com")
    monkeypatch.setenv("NEWSLETTER_DKIM_PRIVATE_KEY", rsa_key.private_pem.decode())
    reset_settings()


@pytest.fixture
def both_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, rsa_env: None, ed_key: KeyPair
) -> None:
    monkeypatch.setenv("NEWSLETTER_DKIM_ED25519_SELECTOR", "nl2026e")
    path = write_key(tmp_path, "ed25519.pem", ed_key.private_pem)
    monkeypatch.setenv("NEWSLETTER_DKIM_ED25519_PRIVATE_KEY_FILE", str(path))
    reset_settings()


def signatures(data: bytes) -> list[dict[bytes, bytes]]:
    """The tags of each DKIM-Signature header, top first."""
    d = dkim.DKIM(data)
    return [
        dkim.util.parse_tag_value(value)
        for name, value in d.headers
        if name.lower() == b"dkim-signature"
    ]


def verify_all(data: bytes, dns) -> list[bool]:  # type: ignore[no-untyped-def]
    """Each signature's verdict, as `dkim.verify` gives it for the first (an error is False)."""
    results = []
    for i in range(len(signatures(data))):
        try:
            results.append(dkim.DKIM(data).verify(idx=i, dnsfunc=dns))
        except dkim.DKIMException:
            results.append(False)
    return results


def test_to_bytes_signs_when_configured_and_it_verifies(rsa_env: None, dns) -> None:  # type: ignore[no-untyped-def]
    data = to_bytes(sample_message())
    assert data.startswith(b"DKIM-Signature:")
    assert [s[b"a"] for s in signatures(data)] == [b"rsa-sha256"]
    assert dkim.verify(data, dnsfunc=dns)


def test_both_keys_sign_every_message_and_both_verify(both_env: None, dns) -> None:  # type: ignore[no-untyped-def]
    data = to_bytes(sample_message())
    sigs = signatures(data)
    assert [(s[b"a"], s[b"s"]) for s in sigs] == [
        (b"rsa-sha256", b"nl2026"),
        (b"ed25519-sha256", b"nl2026e"),
    ]
    assert sigs[0][b"bh"] == sigs[1][b"bh"]  # one body hash for both
    assert verify_all(data, dns) == [True, True]


def test_ed25519_alone(
    monkeypatch: pytest.MonkeyPatch,
    ed_key: KeyPair,
    dns,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", "example.com")
    monkeypatch.setenv("NEWSLETTER_DKIM_ED25519_SELECTOR", "nl2026e")
    monkeypatch.setenv("NEWSLETTER_DKIM_ED25519_PRIVATE_KEY", ed_key.private_pem.decode())
    reset_settings()
    data = to_bytes(sample_message())
    assert [s[b"a"] for s in signatures(data)] == [b"ed25519-sha256"]
    assert dkim.verify(data, dnsfunc=dns)


def test_signatures_verify_after_an_smtp_hop(both_env: None, dns) -> None:  # type: ignore[no-untyped-def]
    """What the sink's DATA captured (dot-unstuffed, nothing else) still verifies: our
    transport must not re-wrap or re-encode a signed message."""
    msg = sample_message(html="<p>\n.leading dot\n" + "x " * 2000 + "</p>\n")
    data = to_bytes(msg)
    with SmtpSink() as sink, SMTPTransport(parse_smtp_url(sink.url)) as transport:
        transport.send("letters@example.com", "ada@example.org", data)
        assert sink.wait_for(1, timeout=10)
        received = sink.messages[0][2]
    assert received == data
    assert verify_all(received, dns) == [True, True]


def test_wrong_published_key_fails(rsa_env: None, ed_key: KeyPair) -> None:
    data = to_bytes(sample_message())
    wrong = rsa_pair(1024)
    assert not dkim.verify(data, dnsfunc=dns_stub({RSA_NAME: wrong.txt}))


def test_signature_covers_list_headers(both_env: None) -> None:
    for sig in signatures(to_bytes(sample_message())):
        signed = set(sig[b"h"].replace(b" ", b"").replace(b"\r\n", b"").decode().split(":"))
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
        (b"<h1>Part 2</h1>", b"<h1>Part 9</h1>"),  # the body
    ],
)
def test_tampering_breaks_both_signatures(both_env: None, dns, old: bytes, new: bytes) -> None:  # type: ignore[no-untyped-def]
    data = to_bytes(sample_message())
    assert old in data
    assert verify_all(data.replace(old, new, 1), dns) == [False, False]


def test_adding_one_click_later_breaks_the_signature(both_env: None, dns) -> None:  # type: ignore[no-untyped-def]
    """Oversigning: an absent List-Unsubscribe-Post cannot be added by a relay."""
    data = to_bytes(sample_message(unsubscribe_url=None))
    forged = data.replace(
        b"\r\n\r\n", b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n", 1
    )
    assert verify_all(data, dns) == [True, True]
    assert verify_all(forged, dns) == [False, False]


def test_folded_repeated_and_odd_headers_verify(both_env: None, dns) -> None:  # type: ignore[no-untyped-def]
    """Header selection and canonicalisation agree with dkimpy's beyond our own shapes: a
    header folded with tabs and runs of blanks, a repeated signed header (h= takes the
    bottom one), an unsigned header between, and an empty value."""
    data = to_bytes(sample_message(), sign=False)
    extra = b"Subject:  Folded\r\n\t  over   two\r\n  lines \r\nX-Unsigned: whatever\r\nTo:\r\n"
    data = data.replace(b"\r\n\r\n", b"\r\n" + extra + b"\r\n", 1)
    signed = signer_from_settings().sign(data)  # type: ignore[union-attr]
    assert verify_all(signed, dns) == [True, True]
    assert verify_all(signed.replace(b"X-Unsigned: whatever", b"X-Unsigned: other"), dns) == [
        True,
        True,
    ]
    assert verify_all(signed.replace(b"two\r\n", b"three\r\n"), dns) == [False, False]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\r\n",
        b"\r\n\r\n\r\n",
        b"a  b\r\n",
        b"a \t b \r\n\r\n",
        b"tab\tonly\r\n",
        b"trailing   \r\nnext\r\n  \r\n\r\n",
        b"no final line break  ",
        b"  indented\r\n    deeper   x\r\n",
        b"=\r\n  =20 \t\r\n",
    ],
)
def test_relaxed_body_is_dkimpys(body: bytes) -> None:
    assert relaxed_body(body) == Relaxed.canonicalize_body(body)


def test_relaxed_body_of_a_real_message_is_dkimpys() -> None:
    html = "<table>\n" + "".join(f"{'  ' * (i % 9)}<tr>  <td>{i}</td></tr>\n" for i in range(300))
    body = to_bytes(sample_message(html=html), sign=False).split(b"\r\n\r\n", 1)[1]
    assert relaxed_body(body) == Relaxed.canonicalize_body(body)


def test_key_file(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    rsa_key: KeyPair,
    dns,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("NEWSLETTER_DKIM_SELECTOR", "nl2026")
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", "example.com")
    key = write_key(tmp_path, "dkim.pem", rsa_key.private_pem)
    monkeypatch.setenv("NEWSLETTER_DKIM_PRIVATE_KEY_FILE", str(key))
    reset_settings()
    assert dkim.verify(to_bytes(sample_message()), dnsfunc=dns)


def test_the_key_is_read_once_per_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, rsa_key: KeyPair
) -> None:
    key = write_key(tmp_path, "dkim.pem", rsa_key.private_pem)
    monkeypatch.setenv("NEWSLETTER_DKIM_SELECTOR", "nl2026")
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", "example.com")
    monkeypatch.setenv("NEWSLETTER_DKIM_PRIVATE_KEY_FILE", str(key))
    reset_settings()
    first = signer_from_settings()
    key.unlink()
    reset_settings()
    assert signer_from_settings() is first


def test_dknewkey_ed25519_format_loads(ed_key: KeyPair) -> None:
    """dkimpy's `dknewkey --ktype ed25519` writes the base64 of the 32-byte seed."""
    pem_key = load_private_key(ed_key.private_pem, "k")
    seed = pem_key.private_bytes_raw()  # type: ignore[union-attr]
    loaded = load_private_key(base64.b64encode(seed) + b"\n", "k")
    assert DkimKey("s", "d", loaded).public_key_b64() == DkimKey("s", "d", pem_key).public_key_b64()


def test_unconfigured_means_unsigned() -> None:
    assert signer_from_settings() is None
    assert not to_bytes(sample_message()).startswith(b"DKIM-Signature")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NEWSLETTER_DKIM_SELECTOR": "nl2026"}, "NEWSLETTER_DKIM_DOMAIN"),
        ({"NEWSLETTER_DKIM_DOMAIN": "example.com"}, "NEWSLETTER_DKIM_SELECTOR"),
        (
            {"NEWSLETTER_DKIM_DOMAIN": "example.com", "NEWSLETTER_DKIM_ED25519_SELECTOR": "e"},
            "NEWSLETTER_DKIM_ED25519_PRIVATE_KEY",
        ),
        (
            {
                "NEWSLETTER_DKIM_DOMAIN": "example.com",
                "NEWSLETTER_DKIM_SELECTOR": "s",
                "NEWSLETTER_DKIM_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nnope\n",
            },
            "not a readable PEM private key",
        ),
        (
            {
                "NEWSLETTER_DKIM_DOMAIN": "example.com",
                "NEWSLETTER_DKIM_SELECTOR": "s",
                "NEWSLETTER_DKIM_PRIVATE_KEY": "hello",
            },
            "not a PEM private key",
        ),
    ],
)
def test_half_configured_is_a_user_error(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    with pytest.raises(DkimConfigError, match=message):
        to_bytes(sample_message())


def test_rsa_key_in_the_ed25519_slot_is_refused(
    monkeypatch: pytest.MonkeyPatch, rsa_key: KeyPair
) -> None:
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", "example.com")
    monkeypatch.setenv("NEWSLETTER_DKIM_ED25519_SELECTOR", "e")
    monkeypatch.setenv("NEWSLETTER_DKIM_ED25519_PRIVATE_KEY", rsa_key.private_pem.decode())
    reset_settings()
    with pytest.raises(DkimConfigError, match="holds an RSA key"):
        signer_from_settings()


def test_missing_key_file_is_a_user_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWSLETTER_DKIM_SELECTOR", "nl2026")
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", "example.com")
    monkeypatch.setenv("NEWSLETTER_DKIM_PRIVATE_KEY_FILE", str(tmp_path / "nope.pem"))
    reset_settings()
    with pytest.raises(DkimConfigError, match="cannot read"):
        signer_from_settings()


def test_signer_can_be_used_directly(rsa_key: KeyPair, dns) -> None:  # type: ignore[no-untyped-def]
    key = DkimKey("nl2026", "example.com", load_private_key(rsa_key.private_pem, "k"))
    signed = DkimSigner((key,)).sign(to_bytes(sample_message(), sign=False))
    assert dkim.verify(signed, dnsfunc=dns)
