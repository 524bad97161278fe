"""The confirmation mail end to end: signup → commit → real transport → link → confirm."""

from __future__ import annotations

import email
import email.policy
import mailbox
import re

from newsletter.core.db.models import Subscriber
from newsletter.core.db.session import transaction
from newsletter.subscribers import service

URL = re.compile(r"http://localhost:8000/confirm/([A-Za-z0-9_.\-]+)")


def confirm_from(message: email.message.EmailMessage) -> None:
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    token = URL.search(text).group(1)
    assert token in html
    with transaction() as session:
        assert service.confirm(session, token).changed


def test_confirmation_goes_to_the_maildir_outbox(series_id, _isolated_settings) -> None:
    with transaction() as session:
        sid = service.signup(session, "reader@example.com", "Reader", "labor").subscriber_id
    box = mailbox.Maildir(_isolated_settings / "outbox", create=False)
    [raw] = [box.get_bytes(key) for key in box.iterkeys()]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "reader@example.com"
    assert "Tech Labor" in message["Subject"]
    confirm_from(message)
    with transaction() as session:
        assert session.get(Subscriber, sid).status == "active"


def test_confirmation_over_smtp_with_an_internationalised_address(series_id, sink) -> None:
    with transaction() as session:
        service.signup(session, "用户@例子.广告", "用户", "labor")
    [(mail_from, rcpt_tos, data)] = sink.messages
    assert rcpt_tos == ["用户@例子.广告"] and mail_from == "letters@example.com"
    confirm_from(email.message_from_bytes(data, policy=email.policy.default))
