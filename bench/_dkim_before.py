"""The DKIM signer as it was before the per-key layout (issue 12 item 4 follow-up), kept
for the bench only: `bench/deliver.py --variants rsa-before,…` runs it in the same worker
pipeline, interleaved with the current code, so before/after is one run on one machine state.

Not used by the product; the bytes it produces are identical (tests compare the current
signer with dkimpy, and this is the code that was merged with those same tests).
"""

from __future__ import annotations

import base64
import hashlib
import re
import time

import dkim
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from dkim.canonicalization import correct_empty_body, strip_trailing_lines

from newsletter.mail.dkim import SIGNED_HEADERS, DkimKey, DkimSigner

__all__ = ["signature_headers"]

_INCLUDE = tuple(h.lower().encode("ascii") for h in SIGNED_HEADERS)
_H_TAG = b" : ".join(_INCLUDE)
_HEADER_NAME = b"DKIM-Signature"
_PKCS1 = padding.PKCS1v15()
_PREHASHED = Prehashed(hashes.SHA256())

_TRAILING_WSP = re.compile(rb"[\t ]+\r\n")
_WSP_RUN = re.compile(rb"[\t ]+")
_LINE_BREAK = re.compile(rb"\r?\n")
_SPACE_RUN = re.compile(rb"  +")


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 3.4.4 "relaxed" body canonicalisation of a CRLF body (as `to_bytes` writes
    it), equal to dkimpy's (a test compares them) at a fraction of the cost: dkimpy
    substitutes every blank, and a newsletter is mostly single spaces, already canonical.
    """
    if b"\t" in body:
        body = _WSP_RUN.sub(b" ", _TRAILING_WSP.sub(b"\r\n", body))
    else:
        body = _SPACE_RUN.sub(b" ", body)
        if b" \r\n" in body:  # each run is one space now, so one pass removes them all
            body = body.replace(b" \r\n", b"\r\n")
    return correct_empty_body(strip_trailing_lines(body))


def _relaxed_value(value: bytes) -> bytes:
    """RFC 6376 3.4.2 for one header value, as dkimpy does it: unfold, compress blanks, strip."""
    if b"\n" in value:
        value = _LINE_BREAK.sub(b"", value)
    if b"\t" in value or b"  " in value:
        value = _WSP_RUN.sub(b" ", value)
    return value.strip()


def _signed_header_block(data: bytes) -> tuple[bytes, bytes]:
    """(the h= headers relaxed-canonicalised and joined as they are hashed, the body).

    dkimpy parses and canonicalises every header line of the message with module-level
    regex calls; here only the header block is split, and only the headers named in h=
    are canonicalised. A name listed twice takes the next instance up, and an absent one
    is skipped, as dkimpy's `select_headers` does (a test compares the two).
    """
    end = data.find(b"\r\n\r\n")
    head, body = (data[:end], data[end + 4 :]) if end >= 0 else (data, b"")
    found: dict[bytes, list[bytes]] = {}
    last: list[bytes] | None = None
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and last:
            last[-1] += b"\r\n" + line  # a folded continuation line
            continue
        name, colon, value = line.partition(b":")
        if not colon:
            continue
        last = found.setdefault(name.lower().rstrip(), [])
        last.append(value)
    out = []
    for name in _INCLUDE:
        values = found.get(name)
        if values:
            out.append(name + b":" + _relaxed_value(values.pop()) + b"\r\n")
    return b"".join(out), body


def _sign_digest(key: DkimKey, digest: bytes) -> bytes:
    private = key.private_key
    if isinstance(private, rsa.RSAPrivateKey):
        return private.sign(digest, _PKCS1, _PREHASHED)
    # RFC 8463 3: Ed25519 signs the SHA-256 hash of the signed data, not the data itself.
    return private.sign(digest)


def _signature(key: DkimKey, signed: bytes, body_hash: bytes, now: int) -> bytes:
    """One `DKIM-Signature: …\\r\\n` header, laid out exactly as dkimpy's `DKIM.sign`;
    `signed` is the h= headers as `_signed_header_block` gives them."""
    domain = key.domain.encode("ascii")
    fields = [
        (b"v", b"1"),
        (b"a", key.algorithm.encode("ascii")),
        (b"c", b"relaxed/relaxed"),
        (b"d", domain),
        (b"i", b"@" + domain),
        (b"q", b"dns/txt"),
        (b"s", key.selector.encode("ascii")),
        (b"t", str(now).encode("ascii")),
        (b"h", _H_TAG),
        (b"bh", body_hash),
        (b"b", b"0" * 60),  # forces b= onto its own line, so folding it later moves nothing
    ]
    value = dkim.fold(
        b"; ".join(b"=".join(f) for f in fields), namelen=len(_HEADER_NAME), linesep=b"\r\n"
    )
    value = dkim.RE_BTAG.sub(b"\\1", value)
    # The signature header is hashed last, with b= empty and without its final CRLF.
    hasher = hashlib.sha256(signed)
    hasher.update(b"dkim-signature:" + _relaxed_value(value))
    fields[-1] = (b"b", base64.b64encode(_sign_digest(key, hasher.digest())))
    value = dkim.fold(
        b"; ".join(b"=".join(f) for f in fields) + b"\r\n",
        namelen=len(_HEADER_NAME),
        linesep=b"\r\n",
    )
    return _HEADER_NAME + b": " + value


def signature_headers(self: DkimSigner, data: bytes) -> bytes:
    """`DkimSigner.signature_headers` as it was."""
    signed, body = _signed_header_block(data)
    body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest())
    now = int(time.time())
    return b"".join(_signature(key, signed, body_hash, now) for key in self.keys)
