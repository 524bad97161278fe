"""DKIM key pairs for tests (RSA and Ed25519, made with `cryptography`), their DNS records
as a receiver would fetch them, and a DNS stub for dkimpy's `verify(dnsfunc=…)`.

The records are built here from the public key, not by the code under test, so a test
that verifies with them checks our signer against an independent reading of the key.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

__all__ = ["KeyPair", "dns_stub", "ed25519_pair", "rsa_pair", "write_key"]


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    public_pem: bytes
    txt: bytes  # the DKIM TXT record: v=DKIM1; k=…; p=…


def rsa_pair(bits: int = 2048) -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        b"v=DKIM1; k=rsa; p=" + base64.b64encode(der),
    )


def ed25519_pair() -> KeyPair:
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KeyPair(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        b"v=DKIM1; k=ed25519; p=" + base64.b64encode(raw),
    )


def write_key(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def dns_stub(records: Mapping[str, bytes]) -> Callable[..., bytes | None]:
    """dkimpy's `dnsfunc`: `{"sel._domainkey.example.com": txt}`; unknown names have none."""
    table = {f"{name}.".encode(): txt for name, txt in records.items()}

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return table.get(name)

    return lookup
