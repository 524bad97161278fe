"""Refuse control characters in content, where they enter: import, folder load, snapshot.

A NUL byte or a vertical tab in an essay decodes as valid UTF-8, passes every other check,
and only blows up in the MJML compiler at send time, for every reader of that issue. It is
never what the author meant (a word processor's artefact or a corrupted file), so it is
refused at the door with a message naming the essay and block, and the editor fixes it.

Refused: C0 controls (U+0000–U+001F) except tab, newline and carriage return, which are
just line structure; DEL (U+007F) and the C1 controls (U+0080–U+009F); and lone
surrogates, which are not text at all and cannot be encoded. Control characters that the
parsers strip as whitespace around lines (a form feed between pages, say) never reach
the content model and are not reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from newsletter.content.errors import ContentError
from newsletter.content.model import Essay, Series

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_BLOCK_NAMES = {"paragraph": "paragraph", "pull_quote": "pull quote"}


def describe(text: str) -> str | None:
    """What is wrong with `text` ("contains a control character (U+0000)"), or None."""
    match = _FORBIDDEN.search(text)
    if match is None:
        return None
    char = match.group()
    kind = "an invalid character" if "\ud800" <= char <= "\udfff" else "a control character"
    return f"contains {kind} (U+{ord(char):04X})"


def essay_fields(essay: Essay) -> Iterator[tuple[str, str]]:
    """(where, text) for every string of `essay` that is rendered or stored."""
    yield f"essay {essay.number}, title", essay.title
    yield f"essay {essay.number}, slug", essay.slug
    for key in ("subject", "preheader"):
        value = getattr(essay, key)
        if value is not None:
            yield f"essay {essay.number}, {key}", value
    counts = dict.fromkeys(_BLOCK_NAMES, 0)
    for block in essay.blocks:
        counts[block.type] = counts.get(block.type, 0) + 1
        name = _BLOCK_NAMES.get(block.type, block.type)
        yield f"essay {essay.number}, {name} {counts[block.type]}", block.text


def series_fields(series: Series) -> Iterator[tuple[str, str]]:
    """(where, text) for the series' own strings (not its essays)."""
    yield "series slug", series.slug
    yield "series title", series.title
    yield "series description", series.description
    yield "series author", series.author


def check_essay(essay: Essay, source: str) -> None:
    """Raise `ContentError` ("<source>: essay 2, paragraph 3: contains …") for the first
    refused character in `essay`."""
    _check(essay_fields(essay), source)


def check_series_fields(series: Series, source: str) -> None:
    """Like `check_essay` for the series' title, description, author and slug."""
    _check(series_fields(series), source)


def check_series(series: Series, source: str) -> None:
    """The series' own fields, then every essay in order; the first problem is raised."""
    check_series_fields(series, source)
    for essay in series.essays:
        check_essay(essay, source)


def _check(fields: Iterator[tuple[str, str]], source: str) -> None:
    for where, text in fields:
        problem = describe(text)
        if problem is not None:
            raise ContentError(f"{source}: {where}: {problem}")
