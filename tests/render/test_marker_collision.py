"""Essay text that looks like a personalisation marker is shown as written, never filled.

Before, a paragraph holding `zzNLslot_email_tolsLNzz` got the reader's address pasted in,
and `zzNLslot_foo_tolsLNzz` made every message of the issue raise at send time.
"""

from __future__ import annotations

import html
import random

import pytest

from newsletter.render import render_issue
from newsletter.render.markers import (
    SLOT_PREFIX,
    SLOT_SUFFIX,
    SlotMarkers,
    render_with_markers,
    smallest_free_tag,
    tags_in,
)

SLOTS = ("greeting", "email", "web_url", "manage_url", "unsubscribe_url")


def forged(name: str, tag: str = "") -> str:
    return f"{SLOT_PREFIX}{tag}_{name}{SLOT_SUFFIX}"


def count_values(document: str, values: dict[str, str]) -> dict[str, int]:
    return {key: document.count(value) for key, value in values.items() if key != "name"}


@pytest.mark.parametrize("name", [*SLOTS, "name", "foo", "x"])
def test_a_forged_marker_in_a_paragraph_is_text(make_series, values, name) -> None:
    paragraph = f"Reply to {forged(name)} today."
    clean = render_issue(make_series(("Part", (("paragraph", "Reply to nobody today."),))), 1)
    issue = render_issue(make_series(("Part", (("paragraph", paragraph),))), 1)
    html_part, text = issue.personalise(values)
    assert paragraph in text and html.escape(paragraph) in html_part
    # The reader's values appear exactly where the clean issue has them, nowhere else.
    clean_html, clean_text = clean.personalise(values)
    assert count_values(html_part, values) == count_values(clean_html, values)
    assert count_values(text, values) == count_values(clean_text, values)
    assert set(issue.html_template.slots) == set(SLOTS)


def test_markers_of_every_tag_in_every_field(make_series, values) -> None:
    """Content holding the markers of the first tags pushes the render to a free one."""
    trap = " ".join(forged(name, tag) for tag in ("", "1", "2") for name in SLOTS)
    blocks = (("paragraph", trap), ("pull_quote", forged("greeting", "1")))
    series = make_series(
        (f"Title {forged('email')}", blocks),
        title=f"Series {forged('unsubscribe_url', '2')}",
    )
    issue = render_issue(series, 1)
    html_part, text = issue.personalise(values)
    assert trap in text.replace("\n", " ") and forged("greeting", "1") in text  # wordwrapped
    assert text.count(values["email"]) == 1  # the footer's "as <email>."
    assert f'href="{values["unsubscribe_url"]}"' in html_part
    assert issue.mjml.count(f"{SLOT_PREFIX}3_") == len(issue.html_template.slots)


def test_random_marker_fragments_never_personalise(make_series, values) -> None:
    """Shuffled pieces of markers, glued every way, stay text."""
    pieces = ["zz", "NL", "slot", "_", "1", "3", "email", "greeting", "_tolsLNzz", SLOT_PREFIX]
    rng = random.Random(20240531)
    for _ in range(40):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(3, 30)))
        series = make_series(("Part", (("paragraph", f"x{text}."),)))
        _, body = render_issue(series, 1).personalise(values)
        assert f"x{text}." in body.replace("\n", "")
        assert body.count(values["email"]) == 1


def test_content_glued_to_a_marker_is_caught() -> None:
    """A marker's trailing "zz" plus content "NLslot_…" would spell a second marker."""

    def glued(markers: SlotMarkers) -> tuple[str, ...]:
        return (f"{markers.slot('greeting')}NLslot_email{SLOT_SUFFIX}",)

    markers, (document,) = render_with_markers(glued)
    assert markers.tag == "1"
    assert markers.pattern.findall(document) == ["greeting"]


def test_a_render_that_cannot_avoid_its_own_tag_gives_up() -> None:
    def hostile(markers: SlotMarkers) -> tuple[str, ...]:
        return (markers.slot("email") + markers.prefix,)

    with pytest.raises(ValueError, match="no slot marker"):
        render_with_markers(hostile)


def test_tags() -> None:
    assert tags_in(forged("a"), f"{SLOT_PREFIX}12_", f"{SLOT_PREFIX}x_") == {"", "12"}
    assert smallest_free_tag([]) == ""
    assert smallest_free_tag(["", "1", "3"]) == "2"


def test_compiled_markers_are_checked() -> None:
    markers = SlotMarkers()
    good = f"<p>{markers.slot('email')}</p>"
    markers.check_compiled(good)
    with pytest.raises(ValueError, match="did not survive"):
        markers.check_compiled(good + markers.prefix + "emai")
    with pytest.raises(ValueError, match="did not survive"):
        markers.check_compiled(forged("manage_url"))
