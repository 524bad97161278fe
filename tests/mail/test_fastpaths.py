"""The per-message fast paths give the same result as the plain stdlib route.

Pre-encoded bodies (`QPTemplate`) must decode to exactly the filled document with every line
within RFC 2045's 76 characters; the SMTP shortcuts must put the same bytes on the wire.
"""

from __future__ import annotations

import binascii
import html
import random
import re
import smtplib

import pytest

from newsletter.mail.message import Encoded, QPTemplate, to_bytes
from newsletter.mail.smtp import _dot_stuff, _quoteaddr
from tests.support.mail import body, parse, sample_message

ALPHABET = "ab =\t.é<>&\"'\n" + "x" * 30 + "€"


def _random_text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, longest)))


@pytest.mark.parametrize("seed", range(20))
def test_template_decodes_to_the_filled_document(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(100):
        count = rng.randint(0, 5)
        segments = [_random_text(rng, 300) for _ in range(count + 1)]
        slots = [f"s{i}" for i in range(count)]
        values = {slot: _random_text(rng, 200).replace("\n", "") for slot in slots}
        escape = rng.choice([None, lambda v: html.escape(v, quote=True)])
        encoded = QPTemplate(segments, slots, escape).fill(values).qp
        filled = segments[0] + "".join(
            (escape(values[slot]) if escape else values[slot]) + segment
            for slot, segment in zip(slots, segments[1:], strict=True)
        )
        assert binascii.a2b_qp(encoded.encode()) == filled.encode()
        assert encoded.isascii()
        # b2a_qp itself may exceed 76 columns encoding a blank before a line break; where
        # the input has none, no line may be longer.
        if not re.search(r"[ \t]\n", "".join(segments)):
            assert max(len(line) for line in encoded.split("\n")) <= 76


def test_long_single_line_template_stays_within_76_columns() -> None:
    template = QPTemplate(["<p>" + "y" * 500, "z" * 75, "=" * 100 + "\n"], ["a", "b"])
    encoded = template.fill({"a": "x" * 76, "b": "é" * 40}).qp
    assert max(len(line) for line in encoded.split("\n")) <= 76
    assert binascii.a2b_qp(encoded.encode()).decode() == (
        "<p>" + "y" * 500 + "x" * 76 + "z" * 75 + "é" * 40 + "=" * 100 + "\n"
    )


def test_carriage_return_in_a_value_is_refused() -> None:
    with pytest.raises(ValueError, match="carriage return"):
        QPTemplate(["a", "b"], ["name"]).fill({"name": "x\ry"})


def test_encoded_bodies_build_the_same_message() -> None:
    html_doc = "<p>Hi {name}, " + "long line " * 30 + "</p>\n"
    template = QPTemplate(["<p>Hi ", ", " + "long line " * 30 + "</p>\n"], ["name"], html.escape)
    msg = parse(
        to_bytes(sample_message(html=template.fill({"name": "Ada & co"}), text=Encoded("hi\n")))
    )
    assert body(msg, "html") == html_doc.replace("{name}", "Ada &amp; co")
    assert body(msg, "plain") == "hi\n"


@pytest.mark.parametrize(
    "address",
    [
        "a@b.c",
        "reader1@bench.example.com",
        "x.y+z@q-r.example",
        "Name <a@b.c>",
        "a..b@c",
        '"q"@x',
        ".a@b",
        "a.@b",
        "zoë@x.org",
        "<>",
        "a b@c",
        "a@b@c",
    ],
)
def test_quoteaddr_shortcut_matches_smtplib(address: str) -> None:
    assert _quoteaddr(address) == smtplib.quoteaddr(address)


@pytest.mark.parametrize(
    "data", [b".x\r\n.\r\n..y\r\nz", b"abc\r\n", b"\n.\n.", b".", b"", b"a\r\n.\r\n"]
)
def test_dot_stuffing_matches_smtplib(data: bytes) -> None:
    assert _dot_stuff(data) == smtplib._quote_periods(data)  # type: ignore[attr-defined]
