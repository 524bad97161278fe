"""Reading what the SMTP sink received: parse, group by recipient, check one newsletter."""

from __future__ import annotations

from collections import Counter
from email import message_from_bytes, policy
from email.message import EmailMessage

from newsletter.core.tokens import read_token

from .factories import PULL_QUOTE


def parse(data: bytes) -> EmailMessage:
    return message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


def recipients(messages: list[tuple[str, list[str], bytes]]) -> Counter[str]:
    """How many messages each envelope recipient got."""
    return Counter(rcpt for _, rcpts, _ in messages for rcpt in rcpts)


def by_recipient(messages: list[tuple[str, list[str], bytes]]) -> dict[str, EmailMessage]:
    return {rcpts[0]: parse(data) for _, rcpts, data in messages}


def check_newsletter(
    msg: EmailMessage, *, to_addr: str, subscriber_id: int, series_id: int, message_id: str
) -> None:
    """Headers and both parts of one delivered issue, as a mail client would read them."""
    assert msg["From"].addresses[0].addr_spec == "letters@example.com"
    assert msg["To"].addresses[0].addr_spec == to_addr
    assert msg["Subject"] and "Essay 1" in str(msg["Subject"])
    assert msg["Date"] is not None
    assert msg["Message-ID"] == message_id
    assert str(msg["List-Id"]).endswith("<letters.example.com>")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    links = [part.strip().strip("<>") for part in str(msg["List-Unsubscribe"]).split(",")]
    url = next(link for link in links if link.startswith("http"))
    assert url.startswith("http://localhost:8000/unsubscribe/")
    token = read_token(url.rsplit("/", 1)[1], "unsubscribe")
    assert (token.subscriber_id, token.series_id) == (subscriber_id, series_id)
    assert any(link.startswith("mailto:letters@example.com") for link in links)

    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.get_payload()
    assert text.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert html["Content-Transfer-Encoding"] == "quoted-printable"
    for part in (text, html):
        body = part.get_content()
        assert PULL_QUOTE in body
        assert url in body.replace("&amp;", "&")
