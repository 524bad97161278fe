"""Optional DKIM signing (dkimpy), configured by NEWSLETTER_DKIM_*.

Mailbox providers require DKIM for bulk senders, and RFC 8058 one-click unsubscribe only
counts when List-Unsubscribe and List-Unsubscribe-Post are covered by the signature, so
both are always in h=. Headers listed but absent are still named in h= ("oversigning"):
a relay cannot then add e.g. a forged List-Unsubscribe-Post without breaking the signature.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import dkim

from newsletter.core.errors import UserError
from newsletter.core.settings import Settings, get_settings

__all__ = ["SIGNED_HEADERS", "DkimSigner", "signer_from_settings", "sign_if_configured"]

# Every header the message builder may write that a receiver shows or acts on.
SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)


_INCLUDE = [h.encode("ascii") for h in SIGNED_HEADERS]


class DkimConfigError(UserError):
    """Half-configured DKIM: better to refuse than to send unsigned by surprise."""


@dataclass(frozen=True)
class DkimSigner:
    selector: str
    domain: str
    private_key: bytes  # PEM

    def signature_header(self, data: bytes) -> bytes:
        """The `DKIM-Signature: …\\r\\n` header for `data` (a CRLF message)."""
        return dkim.sign(
            data,
            self.selector.encode("ascii"),
            self.domain.encode("ascii"),
            self.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=_INCLUDE,
        )

    def sign(self, data: bytes) -> bytes:
        """`data` with the DKIM-Signature header prepended."""
        return self.signature_header(data) + data


def signer_from_settings(settings: Settings | None = None) -> DkimSigner | None:
    """The configured signer, or None when DKIM is off (no selector and no domain)."""
    s = settings or get_settings()
    key_text = s.dkim_private_key.get_secret_value() if s.dkim_private_key else None
    return _signer(s.dkim_selector, s.dkim_domain, key_text, s.dkim_private_key_file)


@functools.lru_cache(maxsize=8)
def _signer(selector, domain, key_text, key_file) -> DkimSigner | None:  # type: ignore[no-untyped-def]
    """Cached so the key file is read once per process, not once per message."""
    if not selector and not domain and not key_text and not key_file:
        return None
    if not (selector and domain and (key_text or key_file)):
        raise DkimConfigError(
            "DKIM needs NEWSLETTER_DKIM_SELECTOR, NEWSLETTER_DKIM_DOMAIN and "
            "NEWSLETTER_DKIM_PRIVATE_KEY or NEWSLETTER_DKIM_PRIVATE_KEY_FILE"
        )
    if key_text:
        pem = key_text.encode("ascii")
    else:
        try:
            pem = key_file.read_bytes()
        except OSError as exc:
            raise DkimConfigError(f"cannot read the DKIM key file: {exc.strerror}") from None
    if b"PRIVATE KEY" not in pem:
        raise DkimConfigError("the DKIM private key is not a PEM private key")
    return DkimSigner(selector=selector, domain=domain, private_key=pem)


def sign_if_configured(data: bytes) -> bytes:
    """Sign `data` when NEWSLETTER_DKIM_* is set; otherwise return it unchanged."""
    signer = signer_from_settings()
    return signer.sign(data) if signer else data
