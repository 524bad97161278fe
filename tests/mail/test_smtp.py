"""SMTPTransport against a real aiosmtpd sink on loopback."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from email import policy
from email.parser import Parser

import pytest

from newsletter.mail.message import to_bytes
from newsletter.mail.transport import (
    PermanentSendError,
    SMTPTransport,
    TransientSendError,
    parse_smtp_url,
)
from tests.support.mail import sample_message
from tests.support.smtp_sink import SmtpSink

SENDER = "letters@example.com"
DATA = b"From: letters@example.com\r\nTo: a@example.org\r\nSubject: hi\r\n\r\nHello.\r\n"


@pytest.fixture
def transport(sink: SmtpSink) -> Iterator[SMTPTransport]:
    with SMTPTransport(parse_smtp_url(sink.url + "?timeout=5")) as smtp:
        yield smtp


def test_one_connection_for_many_messages(sink: SmtpSink, transport: SMTPTransport) -> None:
    for i in range(25):
        assert transport.send(SENDER, f"r{i}@example.org", DATA).startswith("250")
    assert sink.wait_for(25)
    assert sink.connections == 1
    assert transport.connections == 1
    assert [rcpt for _, rcpt, _ in sink.messages][:2] == [["r0@example.org"], ["r1@example.org"]]


def test_message_bytes_arrive_intact(sink: SmtpSink, transport: SMTPTransport) -> None:
    data = to_bytes(sample_message(text="line one\n.leading dot\n.\nend\n"))
    transport.send(SENDER, "ada@example.org", data)
    assert sink.wait_for(1)
    assert sink.messages[0][2] == data


def test_421_is_transient_then_reconnects(sink: SmtpSink, transport: SMTPTransport) -> None:
    transport.send(SENDER, "a@example.org", DATA)
    sink.fail_transient_for(count=1)
    with pytest.raises(TransientSendError) as err:
        transport.send(SENDER, "b@example.org", DATA)
    assert err.value.code == 421
    assert err.value.enhanced == "4.7.0"
    assert transport.send(SENDER, "b@example.org", DATA).startswith("250")
    assert sink.connections == 2  # the server hung up after 421; we dialled once more


def test_451_for_a_while_keeps_the_connection(sink: SmtpSink, transport: SMTPTransport) -> None:
    sink.fail_transient_for(seconds=0.3, reply="451 4.3.0 Busy, try later")
    with pytest.raises(TransientSendError) as err:
        transport.send(SENDER, "a@example.org", DATA)
    assert (err.value.code, err.value.enhanced) == (451, "4.3.0")
    time.sleep(0.35)
    assert transport.send(SENDER, "a@example.org", DATA).startswith("250")
    assert sink.connections == 1


def test_550_511_is_mailbox_unknown_and_the_session_survives(
    sink: SmtpSink, transport: SMTPTransport
) -> None:
    sink.reject(["gone@example.org"])
    with pytest.raises(PermanentSendError) as err:
        transport.send(SENDER, "gone@example.org", DATA)
    assert (err.value.code, err.value.enhanced) == (550, "5.1.1")
    assert err.value.is_mailbox_unknown
    assert "User unknown" in err.value.reply
    assert transport.send(SENDER, "next@example.org", DATA).startswith("250")
    assert sink.wait_for(1)
    assert sink.messages[0][1] == ["next@example.org"]
    assert sink.connections == 1


def test_552_is_permanent_but_not_mailbox_unknown(sink: SmtpSink, transport: SMTPTransport) -> None:
    sink.reject(["full@example.org"], code="552 5.2.2 Mailbox full")
    with pytest.raises(PermanentSendError) as err:
        transport.send(SENDER, "full@example.org", DATA)
    assert err.value.code == 552
    assert not err.value.is_mailbox_unknown


def test_data_rejection_is_permanent_and_the_session_survives(
    sink: SmtpSink, transport: SMTPTransport
) -> None:
    sink.reject_content(b"SPAMMY")
    with pytest.raises(PermanentSendError) as err:
        transport.send(SENDER, "a@example.org", DATA + b"SPAMMY\r\n")
    assert (err.value.code, err.value.enhanced) == (554, "5.6.0")
    assert not err.value.is_mailbox_unknown
    assert transport.send(SENDER, "a@example.org", DATA).startswith("250")
    assert sink.connections == 1


def test_stale_connection_is_reopened_transparently(
    sink: SmtpSink, transport: SMTPTransport
) -> None:
    transport.send(SENDER, "a@example.org", DATA)
    sink.drop_connections()
    time.sleep(0.1)
    assert transport.send(SENDER, "b@example.org", DATA).startswith("250")
    assert sink.wait_for(2)
    assert sink.connections == 2


def test_connection_refused_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connect is refused
        smtp = SMTPTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}?timeout=2"))
        with pytest.raises(TransientSendError) as err:
            smtp.send(SENDER, "a@example.org", DATA)
    assert err.value.code is None
    assert smtp.connections == 0


def test_internationalised_recipient_is_delivered_with_smtputf8(
    sink: SmtpSink, transport: SMTPTransport
) -> None:
    rcpt = "jürgen@bücher.example"
    data = to_bytes(sample_message(to_addr=rcpt, to_name="Jürgen Müller"))
    assert transport.send(SENDER, rcpt, data).startswith("250")
    assert sink.wait_for(1)
    _, rcpt_tos, received = sink.messages[0]
    assert rcpt_tos == [rcpt]
    parsed = Parser(policy=policy.SMTPUTF8).parsestr(received.decode("utf-8"))
    assert parsed["To"].addresses[0].addr_spec == rcpt
    assert parsed["To"].addresses[0].display_name == "Jürgen Müller"


def test_server_without_smtputf8_refuses_unicode_address_permanently() -> None:
    with SmtpSink() as sink:
        sink._controller.SMTP_kwargs["enable_SMTPUTF8"] = False  # new connections only
        with SMTPTransport(parse_smtp_url(sink.url)) as smtp:
            with pytest.raises(PermanentSendError) as err:
                smtp.send(SENDER, "jürgen@bücher.example", DATA)
            assert err.value.enhanced == "5.6.7"
            assert smtp.send(SENDER, "ascii@example.org", DATA).startswith("250")
