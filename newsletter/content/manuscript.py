"""Stage two of manuscript parsing: find the titles, group blocks into essays, classify them.

The rules follow issue 13 and are deliberately simple so an editor can predict them (the
README's "Manuscript format" section and ``/admin/help/manuscript`` say the same):

* **Title** – a line marked ``# ``, or a short line (at most ``TITLE_MAX_CHARS``) that does
  not end like a sentence or clause (no ``. ! ? … , ; :``). It opens a new essay whether or
  not a blank line precedes it. Titles ending in ``?`` therefore need the ``# `` marker.
* **Pull quote** – see `pullquotes.py`: ``> ``, or a one-sentence line standing between
  paragraphs, any number per essay.
* **Paragraph** – everything else. Text is kept exactly as written, only trimmed.

Every essay needs at least one paragraph, and nothing may precede the first title; both
are reported with the line number so the editor can fix the manuscript. Control characters
in the text are refused, naming the essay and block (see `characters.py`).

`analyse_manuscript` is the full answer (series + warnings on close calls) for `content
check`, the API and the studio; `parse_manuscript` is the series alone for everyone else.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.content.characters import check_series
from newsletter.content.errors import ContentError
from newsletter.content.layout import (
    LayoutNote,
    RawBlock,
    count_sentences,
    looks_like_title,
    split_blocks_with_notes,
)
from newsletter.content.model import Essay, Series
from newsletter.content.pullquotes import (
    PULL_QUOTE_MAX_CHARS,
    PULL_QUOTE_MAX_SENTENCES,
    PULL_QUOTE_RATIO,
    ParseWarning,
    classify_body,
)
from newsletter.content.slugs import is_slug, slugify, title_from_slug
from newsletter.content.textfiles import normalize_newlines

__all__ = [
    "PULL_QUOTE_MAX_CHARS",
    "PULL_QUOTE_MAX_SENTENCES",
    "PULL_QUOTE_RATIO",
    "Analysis",
    "ParseWarning",
    "analyse_manuscript",
    "count_sentences",
    "parse_manuscript",
]


@dataclass(frozen=True)
class Analysis:
    """A parsed manuscript and the lines whose reading was a close call, in line order."""

    series: Series
    warnings: tuple[ParseWarning, ...]

    def to_dict(self) -> dict:
        """The `content check --json` document, which the parse API also returns."""
        return {
            "essays": [essay.to_dict() for essay in self.series.essays],
            "warnings": [warning.to_dict() for warning in self.warnings],
        }


def parse_manuscript(
    text: str, *, slug: str, title: str | None = None, source: str = "manuscript"
) -> Series:
    """Parse a plain-text manuscript into a series; `source` names it in error messages."""
    return analyse_manuscript(text, slug=slug, title=title, source=source).series


def analyse_manuscript(
    text: str, *, slug: str, title: str | None = None, source: str = "manuscript"
) -> Analysis:
    """Parse and say which lines were guesses; raises `ContentError` on bad input only."""
    if not is_slug(slug):
        raise ContentError(
            f"invalid series slug {slug!r}: use lower-case ASCII letters, digits and hyphens"
        )
    text = normalize_newlines(text)
    if not text.strip():
        raise ContentError(f"{source}: file is empty")
    raw, notes = split_blocks_with_notes(text)
    groups = _group_by_title(raw, source)
    essays: list[Essay] = []
    slugs = _Slugs()
    warnings: list[ParseWarning] = []
    for number, (heading, body) in enumerate(groups, start=1):
        blocks, found = classify_body(body, number)
        warnings.extend(found)
        if not any(b.type == "paragraph" for b in blocks):
            raise ContentError(
                f"{source}: line {heading.line}: essay {heading.text!r} has no paragraphs"
                " (a short line without a full stop is read as a title)"
            )
        essay_slug = slugs.take(slugify(heading.text) or f"essay-{number}")
        essays.append(Essay(number, heading.text, essay_slug, tuple(blocks)))
    series = Series(slug=slug, title=title or title_from_slug(slug), essays=tuple(essays))
    check_series(series, source)
    warnings.extend(_place_notes(notes, groups))
    return Analysis(series, tuple(sorted(warnings, key=lambda w: (w.line, w.code))))


def _place_notes(
    notes: list[LayoutNote], groups: list[tuple[RawBlock, list[RawBlock]]]
) -> list[ParseWarning]:
    """Attach layout notes to the essay and block whose lines contain them."""
    placed: list[ParseWarning] = []
    for note in notes:
        essay, block = 0, 0
        for number, (heading, body) in enumerate(groups, start=1):
            if heading.line <= note.line:
                essay, block = number, 0
                for index, raw in enumerate(body):
                    if raw.line <= note.line:
                        block = index
        placed.append(ParseWarning(note.line, essay, block, note.code, note.message))
    return placed


class _Slugs:
    """`slugs.unique_slug` (`base`, `base-2`, `base-3`…) for a whole manuscript, remembering
    where each base's search stopped. Starting at 2 every time made a manuscript repeating
    one title quadratic: 20,000 copies of "T / p." (100 KB) took minutes. Every suffix below
    the remembered one was taken when it was passed, and stays taken, so the slugs are the
    same as before."""

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self.next: dict[str, int] = {}

    def take(self, base: str) -> str:
        slug, n = base, self.next.get(base, 2)
        if slug in self.taken:
            slug = f"{base}-{n}"
            while slug in self.taken:
                n += 1
                slug = f"{base}-{n}"
            self.next[base] = n + 1
        self.taken.add(slug)
        return slug


def _is_title(block: RawBlock) -> bool:
    return block.marked_title or (not block.marked_quote and looks_like_title(block.text))


def _group_by_title(raw: list[RawBlock], source: str) -> list[tuple[RawBlock, list[RawBlock]]]:
    groups: list[tuple[RawBlock, list[RawBlock]]] = []
    for block in raw:
        if _is_title(block):
            groups.append((block, []))
        elif groups:
            groups[-1][1].append(block)
        elif any(_is_title(b) for b in raw):
            raise ContentError(
                f"{source}: line {block.line}: text before the first title; "
                "a manuscript starts with a title line"
            )
    if not groups:
        raise ContentError(
            f"{source}: no title found; each essay must start with a short title line "
            "without sentence-ending punctuation"
        )
    return groups
