"""build_message / to_bytes: checked by parsing the serialised bytes, as a receiver would."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.parser import Parser

import pytest

from newsletter.mail.message import WIRE, make_message_id, to_bytes
from tests.support.mail import HTML, TEXT, UNSUB, body, parse, sample_message


def test_headers_round_trip() -> None:
    parsed = parse(to_bytes(sample_message()))
    assert parsed["From"] == "Tech Labor Letters <letters@example.com>"
    assert parsed["To"].addresses[0].display_name == "Ada Lovelace"
    assert parsed["To"].addresses[0].addr_spec == "ada@example.org"
    assert parsed["Subject"] == "Part 2 of 4: The work"
    assert parsed["Date"].datetime == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert parsed["Message-ID"] == "<d42.abc@example.com>"
    assert parsed["MIME-Version"] == "1.0"
    assert parsed["List-Id"] == "Tech Labor Letters <tll.example.com>"
    assert parsed["List-Unsubscribe"] == (f"<{UNSUB}>, <mailto:unsubscribe+TOKEN123@example.com>")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_multipart_alternative_text_first_then_quoted_printable_html() -> None:
    parsed = parse(to_bytes(sample_message()))
    assert parsed.get_content_type() == "multipart/alternative"
    text, html = parsed.get_payload()
    assert text.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    for part in (text, html):
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert part.get_content_charset() == "utf-8"
    assert text.get_content().replace("\r\n", "\n") == TEXT
    assert html.get_content().replace("\r\n", "\n") == HTML
    assert body(parsed, "html") == HTML


def test_crlf_everywhere_and_no_long_lines() -> None:
    long_html = "<p>" + "x" * 5000 + "</p>\n" + "<p>trailing space </p>\n" * 3
    data = to_bytes(sample_message(html=long_html, subject="A very long subject " * 8))
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 78
    assert body(parse(data), "html") == long_html


def test_bare_url_list_id_and_mailto_scheme_added() -> None:
    parsed = parse(
        to_bytes(sample_message(list_id="tll.example.com", unsubscribe_mailto="u@x.example"))
    )
    assert parsed["List-Id"] == "<tll.example.com>"
    assert parsed["List-Unsubscribe"].endswith("<mailto:u@x.example>")


def test_one_click_header_only_with_an_unsubscribe_url() -> None:
    parsed = parse(to_bytes(sample_message(unsubscribe_url=None)))
    assert parsed["List-Unsubscribe"] == "<mailto:unsubscribe+TOKEN123@example.com>"
    assert parsed["List-Unsubscribe-Post"] is None
    bare = parse(to_bytes(sample_message(unsubscribe_url=None, unsubscribe_mailto=None)))
    assert bare["List-Unsubscribe"] is None


def test_long_unsubscribe_url_is_folded_between_entries_never_encoded() -> None:
    url = "https://letters.example.com/unsubscribe/" + "T" * 150
    data = to_bytes(sample_message(unsubscribe_url=url))
    raw = data.split(b"\r\n\r\n", 1)[0].decode()
    assert "=?" not in raw.split("List-Unsubscribe:", 1)[1].split("List-Unsubscribe-Post")[0]
    assert parse(data)["List-Unsubscribe"].startswith(f"<{url}>, <mailto:")


def test_non_ascii_subject_and_name_are_rfc2047_encoded() -> None:
    data = to_bytes(
        sample_message(subject="Teil 2: Über Arbeit — “Löhne”", to_name="Jürgen Müller, Jr.")
    )
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    parsed = parse(data)
    assert parsed["Subject"] == "Teil 2: Über Arbeit — “Löhne”"
    assert parsed["To"].addresses[0].display_name == "Jürgen Müller, Jr."


def test_ascii_name_with_specials_is_quoted() -> None:
    parsed = parse(to_bytes(sample_message(to_name='Ada "Countess" Lovelace, Esq.')))
    assert parsed["To"].addresses[0].display_name == 'Ada "Countess" Lovelace, Esq.'
    assert parsed["To"].addresses[0].addr_spec == "ada@example.org"


def test_no_name() -> None:
    assert parse(to_bytes(sample_message(to_name="")))["To"] == "ada@example.org"


def test_internationalised_address_uses_smtputf8_headers() -> None:
    data = to_bytes(sample_message(to_addr="jürgen@bücher.example", to_name="Jürgen"))
    # An SMTPUTF8 message: headers are raw UTF-8, so parse it as text.
    parsed = Parser(policy=policy.SMTPUTF8).parsestr(data.decode("utf-8"))
    assert parsed["To"].addresses[0].display_name == "Jürgen"
    assert parsed["To"].addresses[0].addr_spec == "jürgen@bücher.example"
    assert "jürgen@bücher.example".encode() in data


@pytest.mark.parametrize(
    "field",
    ["subject", "to_name", "to_addr", "sender", "message_id", "list_id", "unsubscribe_url"],
)
@pytest.mark.parametrize("breaker", ["\r\n", "\n", "\r"])
def test_header_injection_is_rejected(field: str, breaker: str) -> None:
    value = f"x@example.org{breaker}Bcc: victim@example.net"
    with pytest.raises(ValueError):
        sample_message(**{field: value})


def test_extra_headers_are_checked_and_kept() -> None:
    parsed = parse(to_bytes(sample_message(extra_headers={"X-Newsletter-Issue": "7"})))
    assert parsed["X-Newsletter-Issue"] == "7"
    with pytest.raises(ValueError):
        sample_message(extra_headers={"X-Evil": "a\r\nBcc: b@example.net"})
    with pytest.raises(ValueError):
        sample_message(extra_headers={"Bad: Name": "x"})


def test_naive_date_is_taken_as_utc() -> None:
    parsed = parse(to_bytes(sample_message(date=datetime(2026, 3, 1, 9, 30))))
    assert parsed["Date"].datetime == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_fast_serialiser_matches_the_stdlib_generator() -> None:
    for msg in (
        sample_message(),
        sample_message(html="a\rb\r\nc  \n" + "y" * 300, subject="Ünïcode " * 12),
    ):
        assert to_bytes(msg, sign=False) == msg.as_bytes(policy=WIRE)


def test_messages_changed_after_building_still_serialise() -> None:
    msg = sample_message()
    msg.preamble = "This is a MIME message."
    assert to_bytes(msg).startswith(b"From: ")
    assert body(parse(to_bytes(msg)), "plain") == TEXT


def test_message_id_is_deterministic_and_keyed() -> None:
    first = make_message_id(42, "example.com", secret="s1")
    assert first == make_message_id(42, "example.com", secret="s1")
    assert first != make_message_id(43, "example.com", secret="s1")
    assert first != make_message_id(42, "example.com", secret="s2")
    assert first.startswith("<d42.") and first.endswith("@example.com>")
    # Default secret comes from settings (the test fixture fixes it).
    assert make_message_id(42, "example.com") == make_message_id(42, "example.com")
    parsed = parse(to_bytes(sample_message(message_id=first)))
    assert parsed["Message-ID"] == first
