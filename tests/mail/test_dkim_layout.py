"""The DKIM signer's fast paths give exactly the bytes of the plain ones: the per-key
header layout against laying every header out with dkimpy's `fold`, the one-regex header
split against dkimpy's own header selection, and the space squeeze against dkimpy's body
canonicalisation. RSA PKCS#1 v1.5 and Ed25519 are deterministic, so whole headers compare."""

from __future__ import annotations

import base64
import hashlib

import dkim
import pytest
from dkim.canonicalization import Relaxed

from newsletter.mail import dkim as signer
from newsletter.mail.dkim import _INCLUDE, DkimKey, DkimSigner, relaxed_body
from newsletter.mail.dkimkeys import load_private_key
from newsletter.mail.message import to_bytes
from tests.support.dkimkeys import KeyPair, dns_stub, ed25519_pair, rsa_pair
from tests.support.mail import sample_message

BODY_HASH = base64.b64encode(hashlib.sha256(b"a frozen body").digest())


@pytest.fixture(scope="module")
def pairs() -> dict[str, KeyPair]:
    return {"rsa1024": rsa_pair(1024), "rsa2048": rsa_pair(2048), "ed25519": ed25519_pair()}


@pytest.mark.parametrize("kind", ["rsa1024", "rsa2048", "ed25519"])
@pytest.mark.parametrize(
    ("selector", "domain"),
    [
        ("s", "example.com"),
        ("nl2026", "letters.example.org"),
        ("sel-" + "x" * 60, "d" * 50 + ".example.com"),  # fold cuts inside d= and s=
        ("a" * 120, "b" * 90 + ".example"),
    ],
)
def test_layout_gives_the_reference_header(
    pairs: dict[str, KeyPair], kind: str, selector: str, domain: str
) -> None:
    key = DkimKey(selector, domain, load_private_key(pairs[kind].private_pem, "k"))
    signed = b"from:Ada <ada@example.org>\r\nsubject:Part 2\r\n"
    for now in (b"1772357400", b"999999999", b"12345678901"):
        fast = signer._signature(key, signed, BODY_HASH, now)
        assert fast == signer._reference_signature(key, signed, BODY_HASH, now)
    assert signer._layout(key, 10, 44) is not None


def test_without_a_layout_the_reference_signs(
    monkeypatch: pytest.MonkeyPatch, pairs: dict[str, KeyPair]
) -> None:
    """The fallback for a layout that could not be made still signs verifiably."""
    monkeypatch.setattr(signer, "_layout", lambda key, now_len, bh_len: None)
    key = DkimKey("nl2026", "example.com", load_private_key(pairs["ed25519"].private_pem, "k"))
    signed = DkimSigner((key,)).sign(to_bytes(sample_message(), sign=False))
    dns = dns_stub({"nl2026._domainkey.example.com": pairs["ed25519"].txt})
    assert dkim.verify(signed, dnsfunc=dns)


def dkimpy_signed_headers(data: bytes) -> bytes:
    """What dkimpy hashes for h= (before the signature header itself)."""
    d = dkim.DKIM(data)
    headers = Relaxed.canonicalize_headers(d.headers)
    return b"".join(
        name + b":" + value for name, value in dkim.select_headers(headers, list(_INCLUDE))
    )


@pytest.mark.parametrize(
    "extra",
    [
        b"",
        b"Subject:  Folded\r\n\t  over   two\r\n  lines \r\nX-Unsigned: whatever\r\nTo:\r\n",
        b"X-Long: a\r\n b\r\n c\r\nFROM: Shouting <s@example.com>\r\n",
        b"List-Id: first\r\nList-Id: second\r\n\tfolded\r\nlist-id: third\r\n",
    ],
)
def test_header_split_selects_as_dkimpy_does(extra: bytes) -> None:
    data = to_bytes(sample_message(), sign=False)
    data = data.replace(b"\r\n\r\n", b"\r\n" + extra + b"\r\n", 1)
    signed, body = signer._signed_header_block(data)
    assert signed == dkimpy_signed_headers(data)
    assert body == data.split(b"\r\n\r\n", 1)[1]


def test_header_split_of_a_message_without_a_body() -> None:
    data = b"From: a@example.com\r\nSubject: hi\r\n"
    assert signer._signed_header_block(data) == (b"from:a@example.com\r\nsubject:hi\r\n", b"")


@pytest.mark.parametrize(
    "body",
    [
        b"  leading run\r\n",
        b"end with a run  ",
        b"x" + b" " * 100 + b"y\r\n" + b" " * 7 + b"\r\n",
        b"a  b  c   d    e\r\n  \r\n",
        b"  ",
        b" ",
        b"single spaces only\r\nand lines\r\n\r\n",
    ],
)
def test_space_squeeze_is_dkimpys(body: bytes) -> None:
    assert relaxed_body(body) == Relaxed.canonicalize_body(body)


def test_whole_signature_is_unchanged_by_the_fast_paths(pairs: dict[str, KeyPair]) -> None:
    """End to end, at one frozen time: the layout's header over the fast header split and
    body canonicalisation equals the reference header over dkimpy's own."""
    key = DkimKey("nl2026", "example.com", load_private_key(pairs["rsa2048"].private_pem, "k"))
    html = "<table>\n" + "".join(f"{'  ' * (i % 9)}<tr>  <td>{i}</td></tr>\n" for i in range(200))
    data = to_bytes(sample_message(html=html), sign=False)
    signed, body = signer._signed_header_block(data)
    body_hash = hashlib.sha256(relaxed_body(body)).digest()
    assert body_hash == hashlib.sha256(Relaxed.canonicalize_body(body)).digest()
    bh = base64.b64encode(body_hash)
    assert signer._signature(key, signed, bh, b"1772357400") == signer._reference_signature(
        key, dkimpy_signed_headers(data), bh, b"1772357400"
    )
