"""One issue of a series rendered for everyone: MJML compiled once, personalised per message.

`render_issue` is what delivery calls for every message, so it is cached per process on
the series content (the frozen `Series` hashes by value; its `extra` dict is left out of
equality and hashing by design), the part number and the settings the templates read.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from newsletter.content.model import Essay, Series
from newsletter.core.errors import NotFound
from newsletter.core.settings import get_settings
from newsletter.render.compile import compile_mjml
from newsletter.render.environment import get_environment, one_line, sender_context
from newsletter.render.markers import SlotMarkers, render_with_markers
from newsletter.render.personalise import SlottedText, slot_values

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)]?\s")


@dataclass(frozen=True)
class RenderedIssue:
    """An issue ready to send: subject, preheader and the compiled parts with slots."""

    series_slug: str
    series_title: str
    essay_title: str
    number: int
    total: int
    subject: str
    preheader: str
    mjml: str
    html_template: SlottedText
    text_template: SlottedText
    # Who it is from, as the series says (else the global setting), and where replies go.
    sender: str = ""
    reply_to: str = ""

    def personalise(self, values: Mapping[str, str]) -> tuple[str, str]:
        """(html, text) for one subscriber without recompiling anything.

        `values` holds `name`, `email`, `unsubscribe_url`, `manage_url` and `web_url`;
        name and email may be empty, the links may not.
        """
        filled = slot_values(values)
        return self.html_template.fill_html(filled), self.text_template.fill(filled)


def first_sentence(text: str) -> str:
    """The first sentence of a paragraph: the default preheader."""
    match = _SENTENCE_END.search(text)
    return text[: match.start()].strip() if match else text.strip()


def default_preheader(essay: Essay) -> str:
    if essay.preheader:
        return essay.preheader
    for block in essay.blocks:
        if block.type == "paragraph":
            return first_sentence(block.text)
    return essay.title


def render_issue(
    series: Series,
    number: int,
    *,
    serial: bool = False,
    sender: str | None = None,
    postal_address: str | None = None,
    footer: str = "",
    reply_to: str = "",
) -> RenderedIssue:
    """Render part `number` of `series`; the same content renders (compiles) only once.

    `serial` adds the reader's footer: their progress line and the "next part now" and
    "pause" links (slots `progress`, `next_url`, `pause_url`, filled per reader). `sender`,
    `postal_address`, `footer` and `reply_to` are the series' own sender settings; None
    (or "") falls back to the global ones.
    Raises `NotFound` (a `UserError`) when the series has no such part.
    """
    settings = get_settings()
    return _render_issue_cached(
        series,
        number,
        settings.templates_dir,
        postal_address or settings.postal_address,
        sender or settings.from_,
        serial,
        footer,
        reply_to,
    )


@functools.lru_cache(maxsize=128)
def _render_issue_cached(
    series: Series,
    number: int,
    templates_dir: Path,
    postal_address: str,
    sender: str,
    serial: bool = False,
    footer: str = "",
    reply_to: str = "",
) -> RenderedIssue:
    essay = _find_essay(series, number)
    total = len(series.essays)
    following = [e for e in series.essays if e.number == number + 1]
    preheader = default_preheader(essay)
    context = {
        **sender_context(sender, postal_address, footer),
        "series": series,
        "essay": essay,
        "number": number,
        "total": total,
        "next_essay": following[0] if following else None,
        "preheader": preheader,
        "serial": serial,
    }
    env = get_environment(templates_dir)
    subject = one_line(env.get_template("issue/subject.txt").render(context))

    def documents(markers: SlotMarkers) -> tuple[str, ...]:
        with_slots = {**context, "slot": markers.slot}
        return (
            env.get_template("issue/body.mjml").render(with_slots),
            env.get_template("issue/body.txt").render(with_slots),
        )

    # Markers the essay cannot forge, whatever it says: see `markers.py`.
    markers, (mjml_source, text) = render_with_markers(documents)
    html = compile_mjml(mjml_source)
    markers.check_compiled(html)
    return RenderedIssue(
        series_slug=series.slug,
        series_title=series.title,
        essay_title=essay.title,
        number=number,
        total=total,
        subject=subject,
        preheader=preheader,
        mjml=mjml_source,
        html_template=SlottedText.split(html, markers.pattern),
        text_template=SlottedText.split(text, markers.pattern),
        sender=sender,
        reply_to=reply_to,
    )


def _find_essay(series: Series, number: int) -> Essay:
    try:
        return series.essay(number)
    except KeyError:
        numbers = [e.number for e in series.essays]
        have = f"parts {min(numbers)}–{max(numbers)}" if numbers else "no essays"
        raise NotFound(
            f"essay {number} does not exist in series '{series.slug}' (it has {have})"
        ) from None


def clear_cache() -> None:
    """Forget rendered issues (tests that edit templates or settings call this)."""
    _render_issue_cached.cache_clear()
