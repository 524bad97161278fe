"""Sorting inbound mail: pure, from the message alone (nothing here is trusted yet)."""

from __future__ import annotations

import email

from newsletter.inbound.parse import (
    Complaint,
    Dsn,
    Other,
    Unsubscribe,
    classify,
    local_token,
    status_class,
)
from tests.support.reports import arf, dsn, unsubscribe_mail

MID = "<d12.0123456789abcdef@example.com>"


def _classify(raw: bytes, *rcpts: str):
    return classify(email.message_from_bytes(raw), list(rcpts))


def test_a_postfix_style_dsn() -> None:
    raw = dsn(to="bounce+ab.cd@b.example.com", recipient="Ada@Example.org", status="5.1.1",
              original_message_id=MID)  # fmt: skip
    item = _classify(raw, "bounce+AB.CD@b.example.com")
    assert isinstance(item, Dsn)
    assert item.token == "ab.cd" and item.original_message_id == MID
    (recipient,) = item.recipients
    assert (recipient.action, recipient.status) == ("failed", "5.1.1")
    assert recipient.final_recipient == recipient.original_recipient == "ada@example.org"


def test_without_envelope_recipients_the_headers_stand_in() -> None:
    item = _classify(dsn(to="bounce+xy.z@b.example.com", recipient="a@x.org", status="4.2.2"))
    assert isinstance(item, Dsn) and item.token == "xy.z"
    assert item.recipients[0].action == "delayed" and status_class("4.2.2") == "4"


def test_an_arf_abuse_report() -> None:
    raw = arf(return_path="bounce+t0k.en@b.example.com", original_message_id=MID)
    item = _classify(raw, "fbl@b.example.com")
    assert isinstance(item, Complaint)
    assert item.tokens == ("t0k.en",) and item.original_message_id == MID


def test_other_feedback_types_and_report_types_are_dropped() -> None:
    assert isinstance(_classify(arf(feedback_type="not-spam")), Other)
    other = dsn(to="x@y", recipient="a@b").replace(
        b"delivery-status;", b"disposition-notification;"
    )
    assert isinstance(_classify(other), Other)


def test_mailto_unsubscribe_and_plain_mail() -> None:
    item = _classify(unsubscribe_mail("unsubscribe+1-2.abc@b.example.com"))
    assert item == Unsubscribe("1-2.abc")
    assert isinstance(_classify(unsubscribe_mail("letters@example.com")), Other)
    assert isinstance(_classify(unsubscribe_mail("bounce+1.a@b.example.com")), Other)


def test_a_report_missing_its_parts_is_other() -> None:
    raw = (
        b"From: x@y\r\nTo: bounce+a.b@c\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n"
    )
    assert isinstance(_classify(raw), Other)


def test_local_token() -> None:
    assert local_token("<Bounce+AbC.d@x.org>", "bounce+") == "abc.d"
    assert local_token("bounce@x.org", "bounce+") is None
    assert local_token("not an address", "bounce+") is None
