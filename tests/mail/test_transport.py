"""SMTP URL parsing, the Maildir outbox and open_transport's choice between them."""

from __future__ import annotations

import mailbox
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from newsletter.core.errors import UserError
from newsletter.core.settings import get_settings, reset_settings
from newsletter.mail.message import to_bytes
from newsletter.mail.transport import (
    MaildirTransport,
    SMTPTransport,
    SmtpUrlError,
    open_transport,
    parse_smtp_url,
)
from tests.support.mail import sample_message
from tests.support.smtp_sink import SmtpSink


@pytest.mark.parametrize(
    ("url", "security", "host", "port", "user", "password"),
    [
        ("smtp://localhost:2525", "plain", "localhost", 2525, None, None),
        ("smtp://mail.example.com", "plain", "mail.example.com", 25, None, None),
        (
            "smtp+starttls://me%40example.com:p%40ss%3Aw0rd@smtp.example.com:587",
            "starttls",
            "smtp.example.com",
            587,
            "me@example.com",
            "p@ss:w0rd",
        ),
        ("smtp+starttls://u:p@smtp.example.com", "starttls", "smtp.example.com", 587, "u", "p"),
        ("smtps://u:p@smtp.example.com:465", "ssl", "smtp.example.com", 465, "u", "p"),
        ("smtps://u:p@[::1]", "ssl", "::1", 465, "u", "p"),
    ],
)
def test_parse_smtp_url(
    url: str, security: str, host: str, port: int, user: str | None, password: str | None
) -> None:
    cfg = parse_smtp_url(url)
    assert (cfg.security, cfg.host, cfg.port, cfg.username, cfg.password) == (
        security,
        host,
        port,
        user,
        password,
    )


def test_options_and_password_never_in_repr() -> None:
    cfg = parse_smtp_url("smtps://u:s3cret@h.example.com?timeout=7.5&verify=false")
    assert cfg.timeout == 7.5
    assert cfg.verify_tls is False
    assert "s3cret" not in repr(cfg)


@pytest.mark.parametrize(
    "url",
    [
        "http://u:s3cret@h.example.com",
        "smtp://",
        "smtp://u:s3cret@h.example.com:notaport",
        "smtp://h.example.com:99999",
        "smtp://h.example.com/path",
        "smtp://h.example.com?colour=blue",
        "smtp://h.example.com?timeout=soon",
        "smtp://:s3cret@h.example.com",
    ],
)
def test_bad_smtp_url_is_a_one_line_user_error_without_secrets(url: str) -> None:
    with pytest.raises(SmtpUrlError) as err:
        parse_smtp_url(url)
    assert isinstance(err.value, UserError)
    assert "\n" not in str(err.value)
    assert "s3cret" not in str(err.value)


def test_maildir_outbox_is_the_default(_isolated_settings: Path) -> None:
    data = to_bytes(sample_message())
    with open_transport() as transport:
        assert isinstance(transport, MaildirTransport)
        reply = transport.send("letters@example.com", "ada@example.org", data)
        transport.send("letters@example.com", "bob@example.org", data)
    assert reply.startswith("250 ")
    outbox = get_settings().data_dir / "outbox"
    assert {p.name for p in outbox.iterdir()} >= {"new", "cur", "tmp"}
    files = sorted((outbox / "new").iterdir())
    assert len(files) == 2
    box = mailbox.Maildir(outbox, factory=None, create=False)
    assert len(box) == 2
    raw = files[0].read_bytes()
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed["Return-Path"] == "<letters@example.com>"
    assert parsed["Delivered-To"] in ("ada@example.org", "bob@example.org")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert raw.endswith(data)


def test_open_transport_uses_smtp_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    with SmtpSink() as sink:
        monkeypatch.setenv("NEWSLETTER_SMTP_URL", sink.url)
        reset_settings()
        with open_transport() as transport:
            assert isinstance(transport, SMTPTransport)
            transport.send("letters@example.com", "ada@example.org", to_bytes(sample_message()))
            transport.send("letters@example.com", "bob@example.org", to_bytes(sample_message()))
        assert sink.wait_for(2)
        assert sink.connections == 1
