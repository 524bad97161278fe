"""Mail in tests: a sample message to build, and reading what arrived as a receiver would
(parse, one part's text, group by recipient, check one delivered newsletter)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from newsletter.core.tokens import read_token
from newsletter.mail.message import build_message
from tests.support.factories import PULL_QUOTE

HTML = "<html><body><h1>Part 2</h1><p>Grüße — “quoted” &amp; naïve</p></body></html>\n"
TEXT = "Part 2\n\nGrüße — “quoted” & naïve\n"
UNSUB = "https://letters.example.com/unsubscribe/TOKEN123"


def sample_message(**overrides: object) -> EmailMessage:
    """`build_message` with a full set of sample arguments; `overrides` replace any."""
    kwargs: dict = dict(
        sender="Tech Labor Letters <letters@example.com>",
        to_addr="ada@example.org",
        to_name="Ada Lovelace",
        subject="Part 2 of 4: The work",
        html=HTML,
        text=TEXT,
        message_id="<d42.abc@example.com>",
        list_id="Tech Labor Letters <tll.example.com>",
        unsubscribe_url=UNSUB,
        unsubscribe_mailto="unsubscribe+TOKEN123@example.com",
        date=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    )
    kwargs.update(overrides)
    return build_message(**kwargs)


def parse(data: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(data)  # type: ignore[return-value]


def body(msg: EmailMessage, kind: str) -> str:
    """A part's decoded text with the wire's CRLF turned back into newlines."""
    return msg.get_body((kind,)).get_content().replace("\r\n", "\n")


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
