"""Stage one of manuscript parsing: turn raw lines into candidate blocks.

Manuscripts come in two physical layouts and the parser has to tell them apart per chunk
(a run of lines with no blank line between them):

* **one line per block** – what word processors export and what the seed uses. Paragraphs
  are single long lines and blank lines are irregular: sometimes one after a title,
  sometimes none between paragraphs. Every line is its own block.
* **hard-wrapped** – plain-text editors wrap paragraphs at ~70-80 columns and separate
  paragraphs with blank lines. A chunk's lines are then one paragraph, joined with spaces.

A chunk counts as hard-wrapped only when every line is short (``WRAP_MAX_CHARS``) *and* some
line other than the last breaks mid-sentence. One-line-per-block text never breaks
mid-sentence except at titles, so a title-cased title line directly above a wrapped paragraph
is kept apart rather than glued onto it. Lines marked ``> `` (quotes) or ``# `` (titles) are
always their own blocks, whatever the layout.

Inside a hard-wrapped chunk, blank lines are optional: the document's wrap width (its longest
wrapped line) tells where a block ended. A wrapping editor fills each line greedily, so a line
that ends a sentence, with room left for the next line's first word, and followed by a line
starting a new sentence, is the end of a block. That is how a one-sentence pull quote typed
between two wrapped paragraphs, without blank lines, comes out as a block of its own.
A list item (``- ``, ``* ``, ``1. ``) always starts a block.

Which block is a title, paragraph or pull quote is decided afterwards in `manuscript.py`;
here we only record what the text itself says (explicit markers, quotation marks) and note
the lines whose layout was a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from newsletter.content.slugs import SMALL_WORDS

WRAP_MAX_CHARS = 100
TITLE_MAX_CHARS = 120
TITLE_MAX_WORDS = 20

# Closing marks that may follow a sentence's final punctuation: She said “no.”
_CLOSERS = "\"'”’»)]"
_SENTENCE_END = ".!?…。！？"
_NOT_TITLE_END = _SENTENCE_END + ",;:"
# Opening → closing quotation marks that may wrap a whole line to mark a pull quote.
_QUOTE_PAIRS = {'"': '"', "“": "”", "„": "“", "«": "»", "‘": "’"}
_WORD_RE = re.compile(r"[^\W\d_][\w'’.-]*")
_SENTENCE_BREAK = re.compile(r"[.!?…]+[\"'”’»)\]]*\s+(?=\S)")
_LIST_ITEM = re.compile(r"^(?:[-*•–]|\d{1,3}[.)])\s")
_BULLET = re.compile(r"^[-*•–]\s")
_OPENERS = "\"'“‘«„([¿¡"


@dataclass(frozen=True)
class RawBlock:
    """A block before classification; `line` is 1-based, for error messages."""

    text: str
    line: int
    marked_quote: bool = False  # had a leading ``>`` or wrapping quotation marks
    marked_title: bool = False  # had a leading ``# ``
    # The text inside quotation marks wrapping the whole line (then `text` keeps the marks):
    # a pull quote if it stands between paragraphs, else dialogue, read as a paragraph.
    quotation: str | None = None
    wrapped: bool = False  # joined from several hard-wrapped lines


@dataclass(frozen=True)
class LayoutNote:
    """Something ambiguous seen while splitting, for `content check` (line is 1-based)."""

    line: int
    code: str
    message: str


def ends_sentence(text: str) -> bool:
    stripped = text.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _SENTENCE_END


def count_sentences(text: str) -> int:
    """A rough count (abbreviations like "U.S. Army" may over-count, which errs safe)."""
    return len(_SENTENCE_BREAK.split(text.strip()))


def starts_sentence(text: str) -> bool:
    """Starts with a capital or a digit, possibly after an opening quotation mark."""
    stripped = text.lstrip(_OPENERS)
    return bool(stripped) and (stripped[0].isupper() or stripped[0].isdigit())


def looks_like_title(text: str) -> bool:
    """Short, and not ending like a sentence or a clause (the issue's definition of a title).
    A bulleted line is a list item, never a title ("1. Beginnings" may be a numbered one)."""
    if len(text) > TITLE_MAX_CHARS or len(text.split()) > TITLE_MAX_WORDS:
        return False
    if _BULLET.match(text):
        return False
    stripped = text.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] not in _NOT_TITLE_END and stripped[-1] not in "-—–"


def is_title_cased(text: str) -> bool:
    """Most significant words capitalised, as in "Navigating the Future of Tech Labor and AI"."""
    words = _WORD_RE.findall(text)
    if not words or not words[0][0].isupper():
        return False
    significant = [w for w in words if w.lower() not in SMALL_WORDS]
    capitalised = sum(1 for w in significant if w[0].isupper())
    return capitalised >= 0.8 * len(significant)


def unwrap_quotation_marks(text: str) -> str | None:
    """The text inside quotation marks wrapping the whole line, else None.

    A line like “A,” she said, “B.” starts and ends with quotes but is not one quotation;
    requiring no further marks of the same kind inside tells the two apart.
    """
    if len(text) < 3:
        return None
    opener, closer = text[0], text[-1]
    if _QUOTE_PAIRS.get(opener) != closer:
        return None
    inner = text[1:-1]
    if opener in inner or closer in inner:
        return None
    inner = inner.strip()
    return inner or None


def split_blocks(text: str) -> list[RawBlock]:
    """Candidate blocks in manuscript order; `text` must already have ``\\n`` line endings."""
    return split_blocks_with_notes(text)[0]


def split_blocks_with_notes(text: str) -> tuple[list[RawBlock], list[LayoutNote]]:
    """`split_blocks` plus notes on lines whose reading is a guess."""
    chunks = [(chunk, _runs(chunk)) for chunk in _chunks(text)]
    width = wrap_width(run for _, runs in chunks for kind, run in runs if kind == "text")
    blocks: list[RawBlock] = []
    notes: list[LayoutNote] = []
    for _chunk, runs in chunks:
        for kind, run in runs:
            if kind == "quote":
                body = " ".join(_strip_quote_marker(t) for _, t in run).strip()
                if body:
                    blocks.append(RawBlock(body, run[0][0], marked_quote=True))
            elif kind == "heading":
                lineno, line = run[0]
                blocks.append(RawBlock(line[1:].strip(), lineno, marked_title=True))
            else:
                blocks.extend(_mark_quotation(b) for b in _text_blocks(run, width, notes))
    return blocks, notes


TITLE_FILL = 0.8  # a glued title fills at most this much of the wrap width


def wrap_width(runs: Iterable[list[Line]]) -> int:
    """The longest body line of the hard-wrapped runs: what the author's editor wrapped at
    (title lines glued to a paragraph are not wrapped text, so they do not count)."""
    return max(
        (
            len(t)
            for run in runs
            if _is_hard_wrapped(run)
            for i, (_, t) in enumerate(run)
            if not _is_standalone_title(run, i)
        ),
        default=0,
    )


Line = tuple[int, str]


def _chunks(text: str) -> list[list[Line]]:
    """Runs of non-blank lines, each line trimmed (trailing spaces, NBSPs, indentation)."""
    chunks: list[list[Line]] = []
    current: list[Line] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if line:
            current.append((number, line))
        elif current:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


def _line_kind(line: str) -> str:
    if line.startswith(">"):
        return "quote"
    if line.startswith("# ") and len(line) > 2:
        return "heading"
    return "text"


def _runs(chunk: list[Line]) -> list[tuple[str, list[Line]]]:
    """Consecutive quote lines and consecutive text lines group; each heading stands alone."""
    runs: list[tuple[str, list[Line]]] = []
    for item in chunk:
        kind = _line_kind(item[1])
        if runs and runs[-1][0] == kind and kind != "heading":
            runs[-1][1].append(item)
        else:
            runs.append((kind, [item]))
    return runs


def _strip_quote_marker(line: str) -> str:
    body = line[1:]
    return body[1:] if body.startswith(" ") else body


def _is_standalone_title(run: list[Line], i: int) -> bool:
    text = run[i][1]
    starts_fresh = i == 0 or ends_sentence(run[i - 1][1])
    return starts_fresh and looks_like_title(text) and is_title_cased(text)


def _is_hard_wrapped(run: list[Line]) -> bool:
    if len(run) < 2 or any(len(t) > WRAP_MAX_CHARS for _, t in run):
        return False
    return any(
        not ends_sentence(run[i][1]) and not _is_standalone_title(run, i)
        for i in range(len(run) - 1)
    )


def _first_word(line: str) -> str:
    return line.split(maxsplit=1)[0]


def _breaks_after(run: list[Line], i: int, width: int) -> bool:
    """Line i ends a block: it ends a sentence, the next starts one, and the next line's
    first word would have fitted on it had the author's editor been filling a paragraph."""
    line, following = run[i][1], run[i + 1][1]
    return (
        ends_sentence(line)
        and starts_sentence(following)
        and len(line) + 1 + len(_first_word(following)) <= width
    )


def _note_title_like(run: list[Line], i: int, width: int, notes: list[LayoutNote]) -> None:
    """A short line with room left after it and no full stop is where an editor may have
    meant a title; it is glued into the paragraph unless title-cased, so say so. A line
    that fills most of the wrap width is wrapped prose, not a title: one manuscript pasted
    from two sources wraps at two widths, and its narrower lines must not all warn."""
    number, line = run[i]
    if i + 1 >= len(run) or not looks_like_title(line) or _is_standalone_title(run, i):
        return
    if i > 0 and not ends_sentence(run[i - 1][1]):
        return
    if len(line) <= TITLE_FILL * width and len(line) + 1 + len(_first_word(run[i + 1][1])) <= width:
        notes.append(
            LayoutNote(
                number,
                "title-like",
                f"line {number} could be a title (short, no full stop) but is read as part"
                " of a paragraph; mark it with '# ' or end it with a full stop",
            )
        )


def _text_blocks(run: list[Line], width: int, notes: list[LayoutNote]) -> list[RawBlock]:
    if not _is_hard_wrapped(run):
        return [RawBlock(t, n) for n, t in run]
    blocks: list[RawBlock] = []
    pending: list[Line] = []
    for i, (number, line) in enumerate(run):
        if _is_standalone_title(run, i):
            if pending:
                blocks.append(_join(pending))
                pending = []
            blocks.append(RawBlock(line, number))
            continue
        if pending and _LIST_ITEM.match(line):
            blocks.append(_join(pending))  # a list item starts its own block
            pending = []
        pending.append((number, line))
        _note_title_like(run, i, width, notes)
        if i + 1 < len(run) and _breaks_after(run, i, width):
            blocks.append(_join(pending))
            pending = []
    if pending:
        blocks.append(_join(pending))
    return blocks


def _join(lines: list[Line]) -> RawBlock:
    """Unwrap lines with spaces; a line ending in a hyphen or dash joins without one.

    Built as a list of parts, keeping only the text's last two characters at hand: adding
    to one growing string copied it per line, so a 4 MB paragraph of short lines took
    minutes."""
    parts = [lines[0][1]]
    tail = parts[0][-2:]
    for _, line in lines[1:]:
        glued = tail.endswith(("-", "—", "–")) and not tail[-2:-1].isspace()
        part = line if glued else f" {line}"
        parts.append(part)
        tail = (tail + part)[-2:]
    return RawBlock("".join(parts), lines[0][0], wrapped=len(lines) > 1)


def _mark_quotation(block: RawBlock) -> RawBlock:
    inner = unwrap_quotation_marks(block.text)
    if inner is None:
        return block
    return RawBlock(block.text, block.line, quotation=inner, wrapped=block.wrapped)
