"""Compile once, personalise many: markers survive MJML and are filled without recompiling."""

from __future__ import annotations

import time
from unittest import mock

import pytest

from newsletter.render import compile as compile_module
from newsletter.render import render_issue
from newsletter.render.environment import SLOT_PREFIX
from newsletter.render.personalise import greeting


def test_personalise_never_recompiles(seed_series, values):
    real = compile_module.mjml2html
    with mock.patch.object(compile_module, "mjml2html", side_effect=real) as spy:
        issue = render_issue(seed_series, 1)
        assert spy.call_count == 1
        for n in range(50):
            issue.personalise({**values, "name": f"Reader {n}"})
        render_issue(seed_series, 1).personalise(values)  # cached, still one compile
    assert spy.call_count == 1


def test_every_marker_is_filled_including_hrefs(seed_series, values):
    issue = render_issue(seed_series, 1)
    # MJML kept each marker intact, attributes included: all five slots were found.
    assert set(issue.html_template.slots) == {
        "greeting",
        "email",
        "web_url",
        "manage_url",
        "unsubscribe_url",
    }
    html, text = issue.personalise(values)
    assert SLOT_PREFIX not in html and SLOT_PREFIX not in text
    assert f'href="{values["unsubscribe_url"]}"' in html


def test_each_subscriber_gets_their_own_values(small_series, values):
    issue = render_issue(small_series, 1)
    html_a, text_a = issue.personalise({**values, "name": "Ana", "email": "ana@example.com"})
    html_b, text_b = issue.personalise({**values, "name": "Bo", "email": "bo@example.com"})
    assert "Hi Ana," in html_a and "Hi Ana," in text_a and "ana@example.com" in text_a
    assert "Hi Bo," in html_b and "bo@example.com" in html_b and "Ana" not in html_b


@pytest.mark.parametrize("name", ["", "   ", None, "absent"])
def test_missing_name_degrades_gracefully(small_series, values, name):
    given = {k: v for k, v in values.items() if k != "name"}
    if name != "absent":
        given["name"] = name
    html, text = render_issue(small_series, 1).personalise(given)
    assert "Hi there," in html and "Hi there," in text
    assert "Hi ," not in html and "Hi ," not in text


def test_greeting_collapses_whitespace():
    assert greeting("  Ana \n Reader ") == "Hi Ana Reader,"


def test_missing_links_are_an_error(small_series, values):
    issue = render_issue(small_series, 1)
    with pytest.raises(KeyError, match="unsubscribe_url"):
        issue.personalise({k: v for k, v in values.items() if k != "unsubscribe_url"})


def test_personalise_is_fast(seed_series, values):
    issue = render_issue(seed_series, 1)
    runs = 2000
    start = time.perf_counter()
    for _ in range(runs):
        issue.personalise(values)
    per_message = (time.perf_counter() - start) / runs
    assert per_message < 100e-6, f"{per_message * 1e6:.1f} µs per message"
