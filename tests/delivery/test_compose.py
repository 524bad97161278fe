"""compose() pre-encodes an issue's bodies once; a receiver must see exactly personalise()."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

from newsletter.content import load_series
from newsletter.core.settings import get_settings
from newsletter.delivery.compose import Recipient, _encoder, compose
from newsletter.delivery.identity import Identity
from newsletter.render import render_issue

ROOT = Path(__file__).resolve().parents[2]


def test_composed_bodies_equal_personalise(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NEWSLETTER_SECRET_KEY", "compose-test-secret")
    from newsletter.core.settings import reset_settings

    reset_settings()
    series = load_series(ROOT / "content" / "tech-labor-and-ai")
    issue = render_issue(series, 1)
    assert _encoder(issue) is not None  # the fast path is the one under test
    identity = Identity.from_settings(get_settings())
    to = Recipient(
        7,
        11,
        "zoë.o'brien@example.org",
        'Zoë "Z" <O&Brien>',
        3,
        5,
        series.slug,
        series.title,
        1,
        "<d7.abc@example.com>",
    )
    message = BytesParser(policy=policy.default).parsebytes(compose(identity, issue, to))
    links = identity.links(11, 5, series.slug, 1)
    html, text = issue.personalise({"name": to.name, "email": to.email, **links})
    assert message.get_body(("html",)).get_content().replace("\r\n", "\n") == html
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == text
    bodies = compose(identity, issue, to).split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in bodies.split(b"\r\n")) <= 76
