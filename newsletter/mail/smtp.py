"""SMTP transport: one connection per batch, every failure classified.

Opening a connection (TCP, EHLO, maybe TLS and AUTH) costs more than sending a message, so
`SMTPTransport` keeps one open across sends and reopens it lazily after the server drops
it or answers 421. After a refused sender, recipient or message it sends RSET, so the next
message in the batch goes out on the same connection.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from newsletter.core.errors import UserError
from newsletter.mail.errors import PermanentSendError, SendError, TransientSendError, classify

__all__ = ["SMTPTransport", "SmtpConfig", "SmtpUrlError", "parse_smtp_url"]

log = logging.getLogger(__name__)

Security = Literal["plain", "starttls", "ssl"]

_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("plain", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("ssl", 465),
}


class SmtpUrlError(UserError):
    """NEWSLETTER_SMTP_URL cannot be used. The message never repeats the URL (password)."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: Security = "plain"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    verify_tls: bool = True


def parse_smtp_url(url: str) -> SmtpConfig:
    """`smtp://host:port`, `smtp+starttls://user:pass@host:port`, `smtps://user:pass@host`.

    Credentials are URL-decoded (`p%40ss` → `p@ss`). Query options: `timeout=<seconds>`,
    `verify=false` (accept a self-signed certificate, e.g. a dev mailpit).
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise SmtpUrlError("NEWSLETTER_SMTP_URL is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise SmtpUrlError(
            "NEWSLETTER_SMTP_URL must start with smtp://, smtp+starttls:// or smtps://"
        )
    if not parts.hostname:
        raise SmtpUrlError("NEWSLETTER_SMTP_URL has no host")
    if parts.path not in ("", "/"):
        raise SmtpUrlError("NEWSLETTER_SMTP_URL must not have a path")
    security, default_port = _SCHEMES[scheme]
    timeout, verify = 30.0, True
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "timeout":
            try:
                timeout = float(value)
            except ValueError:
                raise SmtpUrlError("NEWSLETTER_SMTP_URL timeout must be a number") from None
        elif key == "verify":
            verify = value.lower() not in ("0", "false", "no", "off")
        else:
            raise SmtpUrlError(f"NEWSLETTER_SMTP_URL has an unknown option {key!r}")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise SmtpUrlError("NEWSLETTER_SMTP_URL has a password but no user")
    return SmtpConfig(
        host=parts.hostname,
        port=port or default_port,
        security=security,
        username=username,
        password=password,
        timeout=timeout,
        verify_tls=verify,
    )


class _Refused(Exception):
    """Internal: a reply other than the expected one, before classification."""

    def __init__(self, code: int, reply: bytes) -> None:
        self.code, self.reply = code, reply


class SMTPTransport:
    """smtplib over one reused connection. Not thread-safe: one per worker thread.

    `connections` counts the connections opened (tests and the bench check reuse).
    """

    def __init__(self, config: SmtpConfig, *, local_hostname: str | None = None) -> None:
        self.config = config
        self.local_hostname = local_hostname
        self.connections = 0
        self._conn: smtplib.SMTP | None = None
        self._sent_on_conn = 0

    # -- connection -------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if not self.config.verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        try:
            if cfg.security == "ssl":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    cfg.host,
                    cfg.port,
                    local_hostname=self.local_hostname,
                    timeout=cfg.timeout,
                    context=self._tls_context(),
                )
            else:
                conn = smtplib.SMTP(
                    cfg.host, cfg.port, local_hostname=self.local_hostname, timeout=cfg.timeout
                )
            conn.ehlo()
            if cfg.security == "starttls":
                conn.starttls(context=self._tls_context())
                conn.ehlo()
            if cfg.username:
                conn.login(cfg.username, cfg.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentSendError(exc.smtp_code, _text(exc.smtp_error)) from exc
        except smtplib.SMTPResponseException as exc:
            raise classify(exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Refused, unreachable, timed out, TLS failure, no STARTTLS offered: try later.
            raise TransientSendError(None, f"connect failed: {type(exc).__name__}") from exc
        self.connections += 1
        self._sent_on_conn = 0
        log.debug("SMTP connection %d to %s:%d open", self.connections, cfg.host, cfg.port)
        return conn

    def _drop(self) -> None:
        """Forget the connection without waiting on a server that may be gone."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        """QUIT politely; errors here are irrelevant (the messages are already accepted)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()

    def __enter__(self) -> SMTPTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending ----------------------------------------------------------------------

    def send(self, sender: str, recipient: str, data: bytes) -> str:
        """Send one message; return the server's final reply, e.g. "250 2.0.0 Ok".

        A connection that was reused and turns out dead before any of this message was
        transferred (idle timeout on the server) is reopened once, transparently: nothing
        was delivered, so retrying cannot duplicate.
        """
        reused = self._conn is not None
        try:
            return self._send_once(sender, recipient, data)
        except _StaleConnection:
            if not reused:
                raise TransientSendError(None, "server closed the connection") from None
            return self._send_once(sender, recipient, data)

    def _send_once(self, sender: str, recipient: str, data: bytes) -> str:
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        stage = "mail"
        try:
            mail_options = self._mail_options(conn, sender, recipient, data)
            if mail_options:
                code, reply = conn.mail(sender, mail_options)
            else:
                conn.putcmd("mail", "FROM:" + _quoteaddr(sender))
                code, reply = conn.getreply()
            if code != 250:
                raise _Refused(code, reply)
            stage = "rcpt"
            if mail_options:
                code, reply = conn.rcpt(recipient)
            else:
                conn.putcmd("rcpt", "TO:" + _quoteaddr(recipient))
                code, reply = conn.getreply()
            if code not in (250, 251):
                raise _Refused(code, reply)
            stage = "data"
            code, reply = _data(conn, data)
            if code != 250:
                raise _Refused(code, reply)
        except _Refused as exc:
            raise self._refused(exc.code, exc.reply) from None
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            if stage == "mail":
                raise _StaleConnection from exc
            raise TransientSendError(None, "server disconnected during the transaction") from exc
        except smtplib.SMTPResponseException as exc:
            # MAIL and RCPT return their codes (we call them one by one, not sendmail(),
            # so SMTPRecipientsRefused cannot occur); DATA raises SMTPDataError when the
            # DATA command itself is refused; SMTPSenderRefused is the same family.
            raise self._refused(exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            if stage == "mail" and isinstance(exc, ConnectionError):
                raise _StaleConnection from exc
            raise TransientSendError(None, f"send failed: {type(exc).__name__}") from exc
        self._sent_on_conn += 1
        return f"{code} {_text(reply)}".strip()

    def _mail_options(
        self, conn: smtplib.SMTP, sender: str, recipient: str, data: bytes
    ) -> list[str]:
        """SMTPUTF8 for internationalised addresses (RFC 6531), 8BITMIME for 8-bit data."""
        options: list[str] = []
        if not (sender.isascii() and recipient.isascii()):
            if not conn.has_extn("smtputf8"):
                # Retrying will not teach this server SMTPUTF8.
                raise PermanentSendError(553, "5.6.7 server does not support SMTPUTF8")
            options.append("SMTPUTF8")
        if not data.isascii() and conn.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        return options

    def _refused(self, code: int, reply: bytes | str) -> SendError:
        """Classify a refusal; leave the connection ready for the next message."""
        if code == 421 or code == -1:  # -1: smtplib's "connection lost" pseudo code
            self._drop()  # 421 means the server is closing the channel
        else:
            try:
                self._conn.rset() if self._conn else None
            except (smtplib.SMTPException, OSError):
                self._drop()
        return classify(code if code > 0 else None, reply)


# A dot-atom addr-spec (RFC 5322 atext, ASCII): `smtplib.quoteaddr` turns it into "<addr>"
# after a full RFC 2822 parse (tens of microseconds); anything else still goes through it.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
)


def _quoteaddr(address: str) -> str:
    """`smtplib.quoteaddr`, short-cut for plain addresses (a test holds them equal)."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return _slow_quoteaddr(address)


@functools.lru_cache(maxsize=256)  # the sender repeats for every message
def _slow_quoteaddr(address: str) -> str:
    return smtplib.quoteaddr(address)


def _dot_stuff(data: bytes) -> bytes:
    """`smtplib._quote_periods` (a regex over the whole message) as two `bytes.replace`s:
    a "." at the start of any line is doubled (RFC 5321 4.5.2)."""
    stuffed = data.replace(b"\n.", b"\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


def _data(conn: smtplib.SMTP, data: bytes) -> tuple[int, bytes]:
    """`smtplib.SMTP.data` for bytes, with the cheaper dot-stuffing: same wire bytes, same
    replies, and a refused DATA raises `SMTPDataError` as smtplib does."""
    conn.putcmd("data")
    code, reply = conn.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    payload = _dot_stuff(data)
    if payload[-2:] != b"\r\n":
        payload += b"\r\n"
    conn.send(payload + b".\r\n")
    return conn.getreply()


class _StaleConnection(Exception):
    """Internal: the connection died before MAIL FROM was answered."""


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
