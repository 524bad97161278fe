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

Which block is a title, paragraph or pull quote is decided afterwards in `manuscript.py`;
here we only record what the text itself says (explicit markers, quotation marks).
"""

from __future__ import annotations

import re
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


@dataclass(frozen=True)
class RawBlock:
    """A block before classification; `line` is 1-based, for error messages."""

    text: str
    line: int
    marked_quote: bool = False  # had a leading ``>`` or wrapping quotation marks
    marked_title: bool = False  # had a leading ``# ``


def ends_sentence(text: str) -> bool:
    stripped = text.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _SENTENCE_END


def looks_like_title(text: str) -> bool:
    """Short, and not ending like a sentence or a clause (the issue's definition of a title)."""
    if len(text) > TITLE_MAX_CHARS or len(text.split()) > TITLE_MAX_WORDS:
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
    blocks: list[RawBlock] = []
    for chunk in _chunks(text):
        for kind, run in _runs(chunk):
            if kind == "quote":
                body = " ".join(_strip_quote_marker(t) for _, t in run).strip()
                if body:
                    blocks.append(RawBlock(body, run[0][0], marked_quote=True))
            elif kind == "heading":
                lineno, line = run[0]
                blocks.append(RawBlock(line[1:].strip(), lineno, marked_title=True))
            else:
                blocks.extend(_mark_quotation(b) for b in _text_blocks(run))
    return blocks


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


def _text_blocks(run: list[Line]) -> list[RawBlock]:
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
        else:
            pending.append((number, line))
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
    return RawBlock("".join(parts), lines[0][0])


def _mark_quotation(block: RawBlock) -> RawBlock:
    inner = unwrap_quotation_marks(block.text)
    if inner is None:
        return block
    return RawBlock(inner, block.line, marked_quote=True)
