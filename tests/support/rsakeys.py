"""A throwaway RSA key pair in pure Python, for DKIM tests.

Kept for tests written before `cryptography` became a dependency; new tests use
tests/support/dkimkeys.py (RSA and Ed25519 pairs from `cryptography`).
"""

from __future__ import annotations

import base64
import secrets

_SMALL_PRIMES = [p for p in range(3, 1000, 2) if all(p % d for d in range(3, int(p**0.5) + 1, 2))]


def _is_probable_prime(n: int, rounds: int = 24) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1
        if _is_probable_prime(candidate):
            return candidate


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(body)) + body


def _int(x: int) -> bytes:
    return _tlv(0x02, x.to_bytes(x.bit_length() // 8 + 1, "big"))


def _pem(label: str, der: bytes) -> bytes:
    b64 = base64.encodebytes(der).decode().replace("\n", "")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    text = f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"
    return text.encode("ascii")


def generate(bits: int = 1024) -> tuple[bytes, bytes]:
    """(private key PEM in PKCS#1, DNS TXT record `v=DKIM1; k=rsa; p=…`)."""
    e = 65537
    while True:
        p, q = _prime(bits // 2), _prime(bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and phi % e and (p * q).bit_length() == bits:
            break
    n, d = p * q, pow(e, -1, phi)
    private = _tlv(
        0x30,
        b"".join(_int(x) for x in (0, n, e, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p))),
    )
    rsa_public = _tlv(0x30, _int(n) + _int(e))
    algorithm = _tlv(0x30, bytes.fromhex("06092a864886f70d010101") + b"\x05\x00")
    spki = _tlv(0x30, algorithm + _tlv(0x03, b"\x00" + rsa_public))
    txt = b"v=DKIM1; k=rsa; p=" + base64.b64encode(spki)
    return _pem("RSA PRIVATE KEY", private), txt
