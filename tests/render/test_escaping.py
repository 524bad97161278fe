"""Essay text and subscriber values are data, never markup."""

from __future__ import annotations

from newsletter.render import render_issue
from tests.support.htmlparts import texts_with_class

SCRIPT = "<script>alert('x')</script>"


def hostile_series(make_series):
    return make_series(
        (
            f"Title {SCRIPT}",
            (
                ("paragraph", f"A paragraph with {SCRIPT} & an ampersand."),
                ("pull_quote", f"Quote {SCRIPT}"),
                ("paragraph", "Fine."),
            ),
        ),
        title=f"Series {SCRIPT}",
    )


def test_script_in_title_paragraph_and_quote_shows_as_text(make_series, values):
    issue = render_issue(hostile_series(make_series), 1)
    html, text = issue.personalise(values)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "with &lt;script&gt;" in html and "&amp; an ampersand" in html
    assert texts_with_class(html, "pull-quote") == [f"Quote {SCRIPT}"]
    # The text part is plain text: shown as written, nothing to escape.
    assert f"A paragraph with {SCRIPT} & an ampersand." in text
    assert f"Title {SCRIPT}" in text
    assert "<script>" not in issue.mjml


def test_personalised_name_cannot_inject(small_series, values):
    html, text = render_issue(small_series, 1).personalise(
        {**values, "name": '<b>Eve & "Co"</b>', "email": "<i>@example.com"}
    )
    assert "<b>" not in html and "<i>" not in html
    assert "Hi &lt;b&gt;Eve &amp; &quot;Co&quot;&lt;/b&gt;," in html
    assert "&lt;i&gt;@example.com" in html
    assert 'Hi <b>Eve & "Co"</b>,' in text


def test_link_values_are_attribute_safe(small_series, values):
    url = 'https://example.com/u?a=1&b="2"'
    html, text = render_issue(small_series, 1).personalise({**values, "unsubscribe_url": url})
    assert 'href="https://example.com/u?a=1&amp;b=&quot;2&quot;"' in html
    assert f"Unsubscribe: {url}\n" in text
