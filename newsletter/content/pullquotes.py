"""Stage two and a half of manuscript parsing: which body blocks of an essay are pull quotes,
and which lines were a close call (the warnings `content check` prints).

A pull quote is a line the editor set apart to be read on its own. The signals, any number
of quotes per essay:

* ``> `` forces one, whatever its length or place.
* A block **standing between two paragraphs** (a neighbour is a paragraph when it has two or
  more sentences, is long, or was joined from wrapped lines) is a quote when it is one full
  sentence – it starts like a sentence, ends like one, the block before it ends a sentence
  (so it is no continuation) – and at most ``PULL_QUOTE_MAX_CHARS`` long. Its neighbours'
  length does not matter.
* The older rule still holds, so published manuscripts keep their parse: a block of at most
  two sentences that is at most ``PULL_QUOTE_RATIO`` of the shorter neighbour. (The seed's
  second essay has a two-sentence pull quote this way.)
* A line wrapped in quotation marks is a quote (marks stripped) when no neighbour is a short
  line: in dialogue, where short quoted lines follow each other, it stays a paragraph.

Lines that almost qualified are warned about with their line number, so the editor can add
``> `` or fix the text rather than guess; so is a paragraph that looks broken in two by a
stray blank line (it stops mid-sentence and the next starts lower-case).
"""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.content.layout import RawBlock, count_sentences, ends_sentence, starts_sentence
from newsletter.content.model import Block

PULL_QUOTE_RATIO = 0.4
PULL_QUOTE_MAX_CHARS = 320
PULL_QUOTE_MAX_SENTENCES = 2
TWO_SENTENCE_WARN_RATIO = 0.65
CONTEXT_MIN_CHARS = 400  # a one-sentence block this long reads as a paragraph, not a line


@dataclass(frozen=True)
class ParseWarning:
    """An ambiguous line: `essay` is 1-based, `block` the 0-based index in the essay's
    blocks (as in `content check --json`), `code` stable for scripts, `message` one line."""

    line: int
    essay: int
    block: int
    code: str
    message: str

    def to_dict(self) -> dict[str, int | str]:
        return {
            "line": self.line,
            "essay": self.essay,
            "block": self.block,
            "code": self.code,
            "message": self.message,
        }


def _text(block: RawBlock) -> str:
    return block.quotation if block.quotation is not None else block.text


def _is_context(block: RawBlock) -> bool:
    """A neighbour that reads as prose, so a line beside it stands out."""
    if block.marked_quote or block.quotation is not None:
        return False
    return block.wrapped or count_sentences(block.text) >= 2 or len(block.text) >= CONTEXT_MIN_CHARS


def _old_rule(body: list[RawBlock], i: int) -> bool:
    before, block, after = body[i - 1], body[i], body[i + 1]
    if before.marked_quote or after.marked_quote:
        return False
    length = len(_text(block))
    return (
        length <= PULL_QUOTE_MAX_CHARS
        and length <= PULL_QUOTE_RATIO * min(len(before.text), len(after.text))
        and count_sentences(_text(block)) <= PULL_QUOTE_MAX_SENTENCES
    )


def classify_body(body: list[RawBlock], essay: int) -> tuple[list[Block], list[ParseWarning]]:
    """Blocks of one essay (after its title) with the warnings on its close calls."""
    blocks: list[Block] = []
    warnings: list[ParseWarning] = []
    for i, raw in enumerate(body):
        quote, note = _decide(body, i)
        if quote:
            blocks.append(Block("pull_quote", _text(raw)))
        else:
            blocks.append(Block("paragraph", raw.text))
        note = note or _broken_paragraph(body, i)
        if note is not None:
            code, message = note
            warnings.append(ParseWarning(raw.line, essay, i, code, f"line {raw.line} {message}"))
    return blocks, warnings


def _broken_paragraph(body: list[RawBlock], i: int) -> tuple[str, str] | None:
    """A block that starts lower-case right after one that stopped mid-sentence: most
    likely a stray blank line inside a paragraph (kept as two; the editor decides)."""
    raw = body[i]
    if i == 0 or raw.marked_quote or raw.quotation is not None:
        return None
    before = body[i - 1]
    if before.marked_quote or ends_sentence(before.text) or not raw.text[:1].islower():
        return None
    return (
        "broken-paragraph",
        "starts lower-case after a paragraph that stops mid-sentence (a stray blank line?),"
        " so the two are read as separate paragraphs; join them if they are one",
    )


def _decide(body: list[RawBlock], i: int) -> tuple[bool, tuple[str, str] | None]:
    """(is a pull quote, optional (code, message) about why it was a close call)."""
    raw = body[i]
    if raw.marked_quote:
        return True, None
    neighbours = [body[j] for j in (i - 1, i + 1) if 0 <= j < len(body)]
    if raw.quotation is not None:
        if neighbours and all(_is_context(n) for n in neighbours):
            return True, None
        if any(n.quotation is not None for n in neighbours):
            return False, None  # one line of a run of dialogue: no doubt, no warning
        return False, (
            "quoted-line",
            "is in quotation marks but sits among short lines (dialogue?), so it is read as"
            " a paragraph; mark it with '> ' to make it a pull quote",
        )
    between = 0 < i < len(body) - 1
    if not between:
        return False, None
    text = raw.text
    fresh = starts_sentence(text) and ends_sentence(body[i - 1].text)
    if fresh and _old_rule(body, i):
        return True, None
    if not (_is_context(body[i - 1]) and _is_context(body[i + 1])):
        return False, None
    sentences = count_sentences(text)
    if len(text) > PULL_QUOTE_MAX_CHARS or sentences > 2 or not ends_sentence(text):
        return False, None
    if not fresh:
        if sentences == 1:
            return False, (
                "continuation",
                "stands alone like a pull quote but continues the text before it, so it is"
                " read as a paragraph",
            )
        return False, None
    if sentences == 1:
        return True, None
    shorter = min(len(body[i - 1].text), len(body[i + 1].text))
    if len(text) > TWO_SENTENCE_WARN_RATIO * shorter:
        return False, None  # an ordinary short paragraph, not a near miss
    return False, (
        "two-sentences",
        "looks like a pull quote but has two sentences, so it is read as a paragraph;"
        " mark it with '> ' to make it a pull quote",
    )
