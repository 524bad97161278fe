"""Build one newsletter MIME message and serialise it for SMTP.

Every delivery goes through here, so the per-message cost matters (the pipeline targets
1,000 msg/s on two cores). The slow parts of the stdlib `email` package are the pure-Python
quoted-printable encoder and header parsing; we encode bodies with the C `binascii.b2a_qp`
and set each header once. The result is still an ordinary `EmailMessage` under
`email.policy.SMTP`, so callers and tests can inspect it like any other.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8, EmailPolicy
from email.utils import format_datetime

from newsletter.core.settings import get_settings
from newsletter.mail.dkim import sign_if_configured

__all__ = [
    "Encoded",
    "QPTemplate",
    "build_message",
    "make_message_id",
    "needs_smtputf8",
    "to_bytes",
]

_FORBIDDEN = ("\r", "\n", "\0")

# `email.policy.SMTP` (CRLF, 78-column folding for header objects) except that headers
# stored raw are written as given: we fold them ourselves, and the stdlib refolder would
# RFC 2047-encode a long unsubscribe URL, which breaks List-Unsubscribe.
WIRE = SMTP.clone(refold_source="none")
WIRE_UTF8 = SMTPUTF8.clone(refold_source="none")


def _check(name: str, value: str) -> str:
    """Refuse CR/LF/NUL: a newline in a header value is header injection."""
    for ch in _FORBIDDEN:
        if ch in value:
            raise ValueError(f"line break or NUL in the {name} header")
    return value


def _address(value: str, display_name: str = "") -> Address:
    """An `Address` from `local@domain` or `Name <local@domain>`.

    Built from parts rather than parsed, so an internationalised local part or domain keeps
    its Unicode form and `to_bytes` can choose SMTPUTF8 for it.
    """
    _check("address", value)
    _check("display name", display_name)
    addr = value.strip()
    if addr.endswith(">") and "<" in addr:
        name, _, addr = addr[:-1].rpartition("<")
        display_name = display_name or name.strip().strip('"')
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or any(c in addr for c in ' <>,"'):
        raise ValueError("malformed email address")
    return Address(display_name=display_name, username=local, domain=domain)


@functools.lru_cache(maxsize=4096)
def _encode_words(value: str, header_name: str) -> str:
    """RFC 2047 (when non-ASCII) and folded at 78 columns; cached, since a subject is the
    same for every recipient of an issue and names repeat."""
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name=header_name).encode(linesep="\n")


def _format_address(addr: Address, header_name: str) -> str:
    """The header text for one address: encoded display name, raw (UTF-8) addr-spec."""
    name = addr.display_name
    if not name:
        return addr.addr_spec
    if name.isascii() or not addr.addr_spec.isascii():
        return str(addr)  # quotes specials; UTF-8 names are fine in an SMTPUTF8 message
    return f"{_encode_words(name, header_name)} <{addr.addr_spec}>"


def _fold_list(header_name: str, items: list[str]) -> str:
    """Join items with ", ", breaking lines between items rather than inside them."""
    lines = [items[0]]
    width = len(header_name) + 2 + len(items[0])
    for item in items[1:]:
        if width + 2 + len(item) > 78:
            lines[-1] += ","
            lines.append(" " + item)
            width = 1 + len(item)
        else:
            lines[-1] += ", " + item
            width += 2 + len(item)
    return "\n".join(lines)


@dataclass(frozen=True)
class Encoded:
    """A body that is already quoted-printable (UTF-8 underneath, LF line ends, no line
    over 76 characters), e.g. from `QPTemplate.fill`; `build_message` uses it as is."""

    qp: str


_MAX_QP_LINE = 76  # RFC 2045, counting a soft line break's "="


def _qp(text: str) -> str:
    """Quoted-printable text, as `_qp_part` encodes a whole body (C `b2a_qp`)."""
    return binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8"), istext=True).decode("ascii")


def _qp_piece(text: str) -> str:
    """`_qp(text)` whose last line leaves room for a soft line break ("=") after it.

    `b2a_qp` may end its output with a line of 76 characters or more (an encoded trailing
    blank at the very end); such a line is broken with soft line breaks, never inside an
    "=XX" escape.
    """
    encoded = _qp(text)
    start = encoded.rfind("\n") + 1
    while len(encoded) - start >= _MAX_QP_LINE:
        cut = start + _MAX_QP_LINE - 1  # the line keeps 75 characters plus its "="
        if encoded[cut - 1] == "=":
            cut -= 1
        elif encoded[cut - 2] == "=":
            cut -= 2
        encoded = f"{encoded[:cut]}=\n{encoded[cut:]}"
        start = cut + 2
    return encoded


class QPTemplate:
    """A document with slots, quoted-printable encoded once; per message only the slot
    values are encoded.

    Every issue's HTML is ~16 kB of which a few hundred bytes differ per subscriber, and
    encoding it is the largest cost of building a message. Here each literal segment and
    each value is encoded on its own and they are joined with soft line breaks ("=" at the
    end of a line), which a decoder removes: the decoded body is exactly the filled
    document, and no line exceeds 76 characters. Only the placement of soft line breaks
    differs from encoding the filled document in one go.
    """

    def __init__(
        self,
        segments: Sequence[str],
        slots: Sequence[str],
        escape: Callable[[str], str] | None = None,
    ) -> None:
        if len(segments) != len(slots) + 1:
            raise ValueError("a template has one more segment than slots")
        if any("\r" in segment for segment in segments):
            raise ValueError("template segments must use LF line ends")
        self.slots = tuple(slots)
        self.escape = escape
        self._segments = tuple(_qp_piece(segment) for segment in segments)

    def fill(self, values: Mapping[str, str]) -> Encoded:
        """The encoded body with `values` (escaped when the template has an escape)."""
        escape = self.escape
        segments = self._segments
        out = [segments[0]]
        at_line_start = not segments[0] or segments[0].endswith("\n")
        for i, name in enumerate(self.slots, 1):
            value = values[name]
            if escape is not None:
                value = escape(value)
            if "\r" in value:  # could pair with a segment's LF into a CRLF the join splits
                raise ValueError(f"carriage return in the {name} value")
            for piece in (_qp_piece(value) if value else "", segments[i]):
                if not piece:
                    continue
                if not at_line_start:
                    out.append("=\n")
                out.append(piece)
                at_line_start = piece.endswith("\n")
        return Encoded("".join(out))


def _qp_part(body: str | Encoded, subtype: str) -> EmailMessage:
    """A text/<subtype> part, UTF-8, quoted-printable; lines stay under 77 chars.

    `binascii.b2a_qp` is C; the stdlib's `set_content(cte="quoted-printable")` encodes in
    pure Python and costs more than everything else in this module together.
    """
    part = EmailMessage(policy=WIRE)
    part.set_raw("Content-Type", f'text/{subtype}; charset="utf-8"')
    part.set_raw("Content-Transfer-Encoding", "quoted-printable")
    part.set_payload(body.qp if isinstance(body, Encoded) else _qp(body))
    return part


def build_message(
    *,
    sender: str,
    to_addr: str,
    to_name: str,
    subject: str,
    html: str | Encoded,
    text: str | Encoded,
    message_id: str,
    list_id: str,
    unsubscribe_url: str | None,
    unsubscribe_mailto: str | None,
    date: datetime | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A multipart/alternative newsletter message: text/plain first, then text/html.

    `sender` may be `addr` or `Name <addr>`. `list_id` is either a full List-Id value
    (`Name <id.example.com>`) or a bare `id.example.com`. `unsubscribe_mailto` may be given
    with or without the `mailto:` scheme. List-Unsubscribe-Post (RFC 8058 one-click) is
    only added with an unsubscribe URL, because one-click needs a URL to POST to.
    Raises ValueError for CR/LF in any header value.

    Headers are stored pre-encoded and pre-folded (`set_raw`), which the `WIRE` policy writes
    out verbatim; reading them back (`msg["Subject"]`) still yields parsed header objects.
    """
    for name, value in (
        ("Subject", subject),
        ("Message-ID", message_id),
        ("List-Id", list_id),
        ("List-Unsubscribe", unsubscribe_url or ""),
        ("List-Unsubscribe", unsubscribe_mailto or ""),
    ):
        _check(name, value)
    when = date or datetime.now(UTC)
    if when.tzinfo is None:  # the DB stores naive UTC
        when = when.replace(tzinfo=UTC)

    msg = EmailMessage(policy=WIRE)
    msg.set_raw("From", _format_address(_address(sender), "From"))
    msg.set_raw("To", _format_address(_address(to_addr, to_name or ""), "To"))
    msg.set_raw("Subject", _encode_words(subject, "Subject"))
    msg.set_raw("Date", format_datetime(when))
    msg.set_raw("Message-ID", message_id)
    msg.set_raw("MIME-Version", "1.0")
    msg.set_raw("List-Id", _encode_words(list_id if "<" in list_id else f"<{list_id}>", "List-Id"))
    targets = []
    if unsubscribe_url:
        targets.append(f"<{unsubscribe_url}>")
    if unsubscribe_mailto:
        mailto = unsubscribe_mailto
        targets.append(f"<{mailto if mailto.startswith('mailto:') else 'mailto:' + mailto}>")
    if targets:
        msg.set_raw("List-Unsubscribe", _fold_list("List-Unsubscribe", targets))
    if unsubscribe_url:
        msg.set_raw("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    for name, value in (extra_headers or {}).items():
        _check("header name", name)
        if not name or ":" in name or " " in name or not name.isascii():
            raise ValueError("invalid header name")
        msg.set_raw(name, _encode_words(_check(name, value), name))

    boundary = "=_alt_" + hashlib.blake2b(message_id.encode(), digest_size=12).hexdigest()
    msg.set_raw("Content-Type", f'multipart/alternative; boundary="{boundary}"')
    msg.set_payload([_qp_part(text, "plain"), _qp_part(html, "html")])
    return msg


def needs_smtputf8(msg: EmailMessage) -> bool:
    """True when From or To has a non-ASCII local part or domain (RFC 6531)."""
    for name, value in msg.raw_items():
        if name.lower() in ("from", "to"):
            if hasattr(value, "addresses"):
                if not all(a.addr_spec.isascii() for a in value.addresses):
                    return True
            elif not str(value).isascii():
                return True
    return False


def to_bytes(msg: EmailMessage, *, sign: bool = True) -> bytes:
    """Serialise with CRLF line endings; DKIM-sign when NEWSLETTER_DKIM_* is configured.

    The policy is `WIRE` (SMTP, keeping our own header folding) or, when an address is
    internationalised, `WIRE_UTF8` (raw UTF-8 headers, since RFC 2047 cannot encode an
    address; the transport then asks the server for SMTPUTF8). The output is byte for byte
    what `msg.as_bytes(policy=...)` produces (a test holds us to that), only several times
    faster for the shape `build_message` makes.
    """
    policy = WIRE_UTF8 if needs_smtputf8(msg) else WIRE
    data = _fast_bytes(msg, policy)
    if data is None:
        data = msg.as_bytes(policy=policy)
    if sign:
        data = sign_if_configured(data)
    return data


def _headers_bytes(msg: EmailMessage, policy: EmailPolicy) -> bytes:
    # The same call the BytesGenerator makes for each header.
    return b"".join(policy.fold_binary(n, v) for n, v in msg.raw_items()) + b"\r\n"


_BOUNDARY = re.compile(r'^multipart/[a-z]+; boundary="([^"\\]+)"$')


def _boundary(msg: EmailMessage) -> str | None:
    """The boundary, read straight from our own raw Content-Type (parsing it costs more
    than serialising the whole body); anything else goes through `get_boundary`."""
    for name, value in msg.raw_items():
        if name.lower() == "content-type":
            match = _BOUNDARY.match(value) if isinstance(value, str) else None
            return match.group(1) if match else msg.get_boundary()
    return None


def _fast_bytes(msg: EmailMessage, policy: EmailPolicy) -> bytes | None:
    """Flatten a multipart of ASCII leaf parts without the Generator's line-by-line writes.

    Returns None for any other shape (the caller then uses the stdlib generator).
    """
    if not msg.is_multipart() or msg.preamble is not None or msg.epilogue is not None:
        return None
    boundary = _boundary(msg)
    parts = msg.get_payload()
    if not boundary or not parts:
        return None
    chunks = [_headers_bytes(msg, policy)]
    for i, part in enumerate(parts):
        payload = part._payload  # noqa: SLF001 - what the Generator itself reads
        if part.is_multipart() or not isinstance(payload, str) or not payload.isascii():
            return None
        delimiter = f"--{boundary}\r\n" if i == 0 else f"\r\n--{boundary}\r\n"
        chunks.append(delimiter.encode("ascii"))
        chunks.append(_headers_bytes(part, policy))
        if "\r" in payload:
            payload = payload.replace("\r\n", "\n").replace("\r", "\n")
        body = payload.replace("\n", "\r\n")
        chunks.append(body.encode("ascii"))
    chunks.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    return b"".join(chunks)


def make_message_id(delivery_id: int, domain: str, *, secret: str | None = None) -> str:
    """`<d{id}.{mac}@{domain}>`: the same for a delivery on every attempt, unguessable.

    Deterministic so a retried send carries the same Message-ID (receivers and our ledger
    can de-duplicate), keyed so nobody can forge ids for other deliveries.
    """
    if secret is None:
        secret = get_settings().secret()
    _check("Message-ID domain", domain)
    mac = hmac.new(secret.encode(), f"message-id:{delivery_id}".encode(), hashlib.sha256)
    return f"<d{int(delivery_id)}.{mac.hexdigest()[:16]}@{domain}>"
