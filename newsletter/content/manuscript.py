"""Stage two of manuscript parsing: classify candidate blocks into titles, paragraphs and
pull quotes, and group them into essays.

The rules follow the issue and are deliberately simple so an editor can predict them:

* **Title** – a line marked ``# ``, or a short line (at most ``TITLE_MAX_CHARS``) that does
  not end like a sentence or clause (no ``. ! ? … , ; :``). It opens a new essay whether or
  not a blank line precedes it. Titles ending in ``?`` therefore need the ``# `` marker.
* **Pull quote** – a line marked ``> `` or wrapped in quotation marks (straight, curly or
  guillemets; the marks are stripped), or an unmarked block standing between two paragraphs
  that is markedly shorter than both (at most ``PULL_QUOTE_RATIO`` of the shorter one and
  ``PULL_QUOTE_MAX_CHARS`` long) and reads as one thought (at most two sentences – the seed's
  second essay has a two-sentence pull quote).
* **Paragraph** – everything else. Text is kept exactly as written, only trimmed.

Every essay needs at least one paragraph, and nothing may precede the first title; both
are reported with the line number so the editor can fix the manuscript. Control characters
in the text are refused, naming the essay and block (see `characters.py`).
"""

from __future__ import annotations

import re

from newsletter.content.characters import check_series
from newsletter.content.errors import ContentError
from newsletter.content.layout import RawBlock, looks_like_title, split_blocks
from newsletter.content.model import Block, Essay, Series
from newsletter.content.slugs import is_slug, slugify, title_from_slug
from newsletter.content.textfiles import normalize_newlines

PULL_QUOTE_RATIO = 0.4
PULL_QUOTE_MAX_CHARS = 320
PULL_QUOTE_MAX_SENTENCES = 2

_SENTENCE_BREAK = re.compile(r"[.!?…]+[\"'”’»)\]]*\s+(?=\S)")


def parse_manuscript(
    text: str, *, slug: str, title: str | None = None, source: str = "manuscript"
) -> Series:
    """Parse a plain-text manuscript into a series; `source` names it in error messages."""
    if not is_slug(slug):
        raise ContentError(
            f"invalid series slug {slug!r}: use lower-case ASCII letters, digits and hyphens"
        )
    text = normalize_newlines(text)
    if not text.strip():
        raise ContentError(f"{source}: file is empty")
    raw = split_blocks(text)
    groups = _group_by_title(raw, source)
    essays: list[Essay] = []
    slugs = _Slugs()
    for number, (heading, body) in enumerate(groups, start=1):
        blocks = _classify_body(body)
        if not any(b.type == "paragraph" for b in blocks):
            raise ContentError(
                f"{source}: line {heading.line}: essay {heading.text!r} has no paragraphs"
                " (a short line without a full stop is read as a title)"
            )
        essay_slug = slugs.take(slugify(heading.text) or f"essay-{number}")
        essays.append(Essay(number, heading.text, essay_slug, tuple(blocks)))
    series = Series(slug=slug, title=title or title_from_slug(slug), essays=tuple(essays))
    check_series(series, source)
    return series


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


def _classify_body(body: list[RawBlock]) -> list[Block]:
    blocks: list[Block] = []
    for i, block in enumerate(body):
        if block.marked_quote or _is_implicit_pull_quote(body, i):
            blocks.append(Block("pull_quote", block.text))
        else:
            blocks.append(Block("paragraph", block.text))
    return blocks


def _is_implicit_pull_quote(body: list[RawBlock], i: int) -> bool:
    if i == 0 or i == len(body) - 1:
        return False
    before, block, after = body[i - 1], body[i], body[i + 1]
    if before.marked_quote or after.marked_quote:
        return False
    length = len(block.text)
    shorter_neighbour = min(len(before.text), len(after.text))
    return (
        length <= PULL_QUOTE_MAX_CHARS
        and length <= PULL_QUOTE_RATIO * shorter_neighbour
        and count_sentences(block.text) <= PULL_QUOTE_MAX_SENTENCES
    )


def count_sentences(text: str) -> int:
    """A rough count (abbreviations like "U.S. Army" may over-count, which errs safe)."""
    return len(_SENTENCE_BREAK.split(text.strip()))
