"""The double opt-in confirmation email (templates/email/confirm/)."""

from __future__ import annotations

import pytest

from newsletter.render import render_email
from tests.support.htmlparts import visible_text

URL = "https://letters.example.com/confirm/tok.abc?x=1&y=2"


def confirm(**overrides: str) -> tuple[str, str, str]:
    context = {"series_title": "Tech Labor and AI", "name": "Ana", "confirm_url": URL}
    return render_email("confirm", {**context, **overrides})


def test_confirm_email_parts():
    subject, html, text = confirm()
    assert subject == "Confirm your subscription to Tech Labor and AI"
    shown = visible_text(html)
    assert "Tech Labor and AI" in shown and "Hi Ana," in shown
    assert '<html lang="en"' in html
    # The big button and the link written out, both pointing at the confirm URL.
    escaped = URL.replace("&", "&amp;")
    assert html.count(f'href="{escaped}"') == 2
    assert "Yes, subscribe me" in shown and escaped in html
    assert "ignore this email" in shown
    assert "1 Example Street" in shown
    assert f"\n{URL}\n" in text
    assert "ignore this email" in text and "1 Example Street" in text


@pytest.mark.parametrize("name", ["", None])
def test_confirm_without_a_name(name):
    _, html, text = confirm(name=name)
    assert "Hi there," in html and "Hi there," in text


def test_confirm_escapes_context():
    subject, html, text = confirm(series_title="<script>x</script>", name='<b>"Eve"</b>')
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert subject == "Confirm your subscription to <script>x</script>"
    assert 'Hi <b>"Eve"</b>,' in text


def test_subject_is_one_line():
    subject, _, _ = confirm(series_title="Two\r\nLines")
    assert subject == "Confirm your subscription to Two Lines"
