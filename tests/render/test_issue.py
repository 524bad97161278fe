"""What an issue shows: header, blocks, the pull-quote callout, the teaser and the footer."""

from __future__ import annotations

import re

import pytest

from newsletter.core.errors import NotFound, UserError
from newsletter.render import render_issue
from tests.support.htmlparts import texts_with_class, visible_text


def test_seed_issue_header_title_and_paragraphs(seed_series, values):
    essay = seed_series.essay(1)
    issue = render_issue(seed_series, 1)
    html, text = issue.personalise(values)
    shown = visible_text(html)
    assert (issue.number, issue.total, issue.series_title) == (1, 4, seed_series.title)
    assert f"{seed_series.title} · Part 1 of 4" in shown
    assert essay.title in shown
    assert issue.subject == (essay.subject or essay.title)
    for block in essay.paragraphs:
        assert block.text in shown
        assert block.text.split()[0] in text


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_pull_quote_sits_in_the_callout(seed_series, values, number):
    essay = seed_series.essay(number)
    html, _ = render_issue(seed_series, number).personalise(values)
    callouts = texts_with_class(html, "pull-quote")
    assert [q.text for q in essay.pull_quotes] == callouts
    # The callout is styled as one: larger italic type with an accent rule.
    cell = re.search(r'class="pull-quote"[^>]*>\s*<div style="([^"]+)"', html)
    assert cell and "font-style:italic" in cell.group(1) and "font-size:23px" in cell.group(1)
    assert "border-left:3px solid" in html


def test_pull_quote_is_set_apart_in_text(seed_series, values):
    quote = seed_series.essay(1).pull_quotes[0].text
    _, text = render_issue(seed_series, 1).personalise(values)
    start = text.index("“" + quote.split()[0])
    before, after = text[:start], text[start:]
    assert before.endswith("\n\n    ")  # a blank line, then indented
    end = after.index("”")
    quoted = after[: end + 1]
    assert " ".join(quoted.strip("“”").split()) == quote
    assert all(line.startswith("     ") for line in quoted.splitlines()[1:])
    assert after[end + 1 :].startswith("\n\n")  # a blank line after


@pytest.mark.parametrize("number", [1, 2, 3])
def test_next_in_series_teaser(seed_series, values, number):
    html, text = render_issue(seed_series, number).personalise(values)
    following = seed_series.essay(number + 1).title
    assert f"Next in the series: {following}" in visible_text(html)
    assert f"Next in the series: {following}" in text


def test_no_teaser_after_the_last_part(seed_series, values):
    html, text = render_issue(seed_series, 4).personalise(values)
    assert "Next in the series" not in html
    assert "Next in the series" not in text


def test_footer_links_address_and_reason(seed_series, values, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_POSTAL_ADDRESS", "Letters Ltd, 9 Quay Road, Leith EH6 6AA")
    from newsletter.core.settings import reset_settings

    reset_settings()
    html, text = render_issue(seed_series, 2).personalise(values)
    for label, key in [
        ("View in browser", "web_url"),
        ("Manage preferences", "manage_url"),
        ("Unsubscribe", "unsubscribe_url"),
    ]:
        assert f'<a href="{values[key]}">{label}</a>' in html
        assert f"{label}: {values[key]}\n" in text  # links written out in full
    assert "Letters Ltd, 9 Quay Road, Leith EH6 6AA" in html
    assert "Letters Ltd, 9 Quay Road, Leith EH6 6AA" in text
    assert f"subscribed to {seed_series.title} as {values['email']}" in visible_text(html)


def test_lang_preheader_and_colour_scheme(seed_series, values):
    issue = render_issue(seed_series, 1)
    html, _ = issue.personalise(values)
    first = seed_series.essay(1).paragraphs[0].text
    assert issue.mjml.lstrip().startswith('<mjml lang="en">')
    assert issue.preheader == first[: first.index(".") + 1]
    hidden = re.search(
        r'<div class="nl-preheader" style="([^"]*)">' + re.escape(issue.preheader), html
    )
    assert hidden, "the preheader opens the body, hidden"
    style = hidden.group(1)
    assert {"display:none", "max-height:0", "overflow:hidden", "mso-hide:all"} <= set(
        style.rstrip(";").split(";")
    )
    # Hidden by layout, not by colour: spam filters score text the colour of its background.
    assert "color" not in style and "font-size" not in style
    assert f"{issue.preheader}&#847;&zwnj;&nbsp;" in html
    assert '<html lang="en"' in html
    assert '<meta name="color-scheme" content="light dark"' in html
    assert '<meta name="supported-color-schemes" content="light dark"' in html
    assert "@media (prefers-color-scheme: dark)" in html


def test_explicit_preheader_and_subject_win(make_series, values):
    from dataclasses import replace

    series = make_series(("Opening", (("paragraph", "One. Two."),)))
    essay = replace(series.essays[0], subject="A better subject", preheader="Read this first")
    series = replace(series, essays=(essay,))
    issue = render_issue(series, 1)
    assert (issue.subject, issue.preheader) == ("A better subject", "Read this first")
    assert '<div class="nl-preheader" style="display:none;' in issue.mjml
    assert 'mso-hide:all;">Read this first&#847;' in issue.mjml


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_size_budget(seed_series, values, number):
    html, _ = render_issue(seed_series, number).personalise(values)
    assert len(html.encode("utf-8")) <= 60 * 1024


def test_nothing_fetched_from_the_internet(seed_series, values):
    html, _ = render_issue(seed_series, 1).personalise(values)
    ours = set(values.values())
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    # Only the personalised links; the xmlns namespace URIs are identifiers, never fetched.
    namespaces = {
        "http://www.w3.org/1999/xhtml",
    }
    assert urls - namespaces <= ours
    assert "<img" not in html and "<link" not in html and "@import" not in html
    assert "fonts.googleapis" not in html


def test_system_font_stacks(seed_series, values):
    html, _ = render_issue(seed_series, 1).personalise(values)
    families = set(re.findall(r"font-family:([^;\"]+)", html))
    assert families
    assert all(f.strip().endswith(("serif", "sans-serif")) for f in families)


def test_unknown_part_is_a_user_error(seed_series):
    with pytest.raises(NotFound) as err:
        render_issue(seed_series, 9)
    assert isinstance(err.value, UserError)
    assert "\n" not in str(err.value) and "9" in str(err.value)


def test_rendered_once_per_process(seed_series):
    from dataclasses import replace

    assert render_issue(seed_series, 2) is render_issue(seed_series, 2)
    assert render_issue(seed_series, 2) is not render_issue(seed_series, 3)
    # `extra` (a dict) is outside equality and hashing, so it neither breaks nor splits the cache.
    with_extra = replace(seed_series, extra={"source": "db"})
    assert render_issue(with_extra, 2) is render_issue(seed_series, 2)
    edited = replace(seed_series, title="Renamed")
    assert render_issue(edited, 2).series_title == "Renamed"
