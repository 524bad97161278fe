"""DKIM keys: loading private keys (RSA or Ed25519), and the public half as a DNS record.

Keys are parsed with `cryptography` (OpenSSL) once per process; the signer and
`newsletter dns` share these helpers, so the TXT record published is derived from exactly
the key that signs.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from newsletter.core.errors import UserError

__all__ = [
    "Algorithm",
    "DkimConfigError",
    "DkimKey",
    "load_private_key",
    "public_keys_in",
    "txt_strings",
]

Algorithm = Literal["rsa-sha256", "ed25519-sha256"]
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

MIN_RSA_BITS = 1024  # RFC 8301: verifiers refuse less; 2048 is what to publish


class DkimConfigError(UserError):
    """Half-configured DKIM or an unusable key: better to refuse than to send unsigned."""


@dataclass(frozen=True)
class DkimKey:
    """One signing identity: `selector._domainkey.domain` and its private key."""

    selector: str
    domain: str
    private_key: PrivateKey

    @property
    def algorithm(self) -> Algorithm:
        return "rsa-sha256" if isinstance(self.private_key, rsa.RSAPrivateKey) else "ed25519-sha256"

    @property
    def key_type(self) -> str:
        """The record's k= tag."""
        return "rsa" if self.algorithm == "rsa-sha256" else "ed25519"

    @property
    def record_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    def public_key_b64(self) -> str:
        """The p= value: SubjectPublicKeyInfo DER for RSA, the raw 32 bytes for Ed25519
        (RFC 8463 section 4.2)."""
        public = self.private_key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            der = public.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        else:
            der = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(der).decode("ascii")

    def txt_record(self) -> str:
        return f"v=DKIM1; k={self.key_type}; p={self.public_key_b64()}"

    def describe(self) -> str:
        """For humans: `rsa-2048` or `ed25519`."""
        if isinstance(self.private_key, rsa.RSAPrivateKey):
            return f"rsa-{self.private_key.key_size}"
        return "ed25519"


def load_private_key(data: bytes, what: str) -> PrivateKey:
    """An RSA or Ed25519 private key from PEM (PKCS#1 or PKCS#8), or an Ed25519 key as
    dkimpy's `dknewkey` writes it (the base64 of the 32-byte seed).

    `what` names the setting in the one-line error; the key itself never appears there.
    """
    if b"PRIVATE KEY" in data:
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise DkimConfigError(
                f"{what} is not a readable PEM private key (encrypted keys are not supported)"
            ) from None
        if isinstance(key, rsa.RSAPrivateKey):
            if key.key_size < MIN_RSA_BITS:
                raise DkimConfigError(f"{what} is an RSA key under {MIN_RSA_BITS} bits")
            return key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key
        raise DkimConfigError(f"{what} is neither an RSA nor an Ed25519 key")
    try:
        seed = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        seed = b""
    if len(seed) == 32:
        return ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    raise DkimConfigError(f"{what} is not a PEM private key")


_TAG = re.compile(r"(?:^|;)\s*([a-z]+)\s*=\s*([^;]*)")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _record_keys(text: str) -> set[str]:
    """The p= values of DKIM TXT records in `text`: one record per line, either plain
    (`v=DKIM1; k=rsa; p=…`) or as a zone file writes it, in quoted strings."""
    found = set()
    for line in text.splitlines():
        strings = _QUOTED.findall(line)
        record = "".join(strings) if strings else line
        tags = {k: v.strip() for k, v in _TAG.findall(record.strip())}
        if "p" in tags and tags["p"]:
            found.add(re.sub(r"\s+", "", tags["p"]))
    return found


def _pem_keys(data: bytes) -> set[str]:
    """The p= form of every PEM public key block in `data`."""
    found = set()
    for block in re.findall(
        rb"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", data, flags=re.S
    ):
        try:
            key = serialization.load_pem_public_key(block)
        except (ValueError, UnsupportedAlgorithm):
            continue
        if isinstance(key, ed25519.Ed25519PublicKey):
            der = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        else:
            der = key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        found.add(base64.b64encode(der).decode("ascii"))
    return found


def public_keys_in(data: bytes) -> set[str]:
    """Every public key (as its p= value) in a file of PEM public keys and/or DKIM records."""
    return _pem_keys(data) | _record_keys(data.decode("utf-8", "replace"))


def txt_strings(value: str, size: int = 255) -> list[str]:
    """A TXT value cut into character-strings of at most 255 octets (RFC 1035 3.3.14);
    resolvers join them back, so where the cuts fall does not matter."""
    return [value[i : i + size] for i in range(0, len(value), size)] or [""]
