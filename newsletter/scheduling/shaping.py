"""Shaping a draft's parse in the studio: one change to one block or one part per call.

The parser gets most manuscripts right, but the editor has the last word: a block can
change kind, take new text (a blank line in it makes two blocks), merge with the next,
split, go, or become the title of a new part; a part can be renamed or joined to the one
before it (a line misread as a title). Each is one form POST, so the page needs no
JavaScript. Any text the form posts with a button is saved with that button's change, so
"Make pull quote" after typing does not drop the typing.
"""

from __future__ import annotations

import re
from typing import Any

from newsletter import content
from newsletter.content.slugs import unique_slug
from newsletter.core.errors import NotFound, UserError
from newsletter.scheduling.editing import blocks_from

BLOCK_ACTIONS = ("text", "kind", "merge", "split", "delete", "title")
PART_ACTIONS = ("rename", "join")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
# A part's title is its email's subject line: as long as the parser lets a title be, so a
# paragraph made a title by mistake is refused rather than sent as a 280-character subject.
MAX_PART_TITLE = 120


def edit_block(
    essays: list[dict[str, Any]],
    essay: int,
    block: int,
    action: str,
    text: str = "",
    at: int = 0,
) -> None:
    """Apply `action` to block `block` (0-based) of part `essay` (0-based).

    `text` is the block's text as the form posted it (browsers send CRLF), `at` a split
    position in that text (0: split at the first blank line)."""
    if action not in BLOCK_ACTIONS:
        raise UserError(f"unknown action {action!r}")
    blocks = _blocks(essays, essay, block)
    label = f"part {essay + 1}, block {block + 1}"
    posted = text.replace("\r\n", "\n").replace("\r", "\n")
    target = blocks[block]
    target.pop("warning", None)  # the editor has looked at it
    if action == "split":
        _split(blocks, block, posted if posted.strip() else target["text"], at, label)
        return
    if posted.strip() and action != "delete":
        _set_text(blocks, block, posted, label)
    if action == "kind":
        target["type"] = "paragraph" if target["type"] == "pull_quote" else "pull_quote"
    elif action == "merge":
        if block + 1 >= len(blocks):
            raise UserError(f"{label} is the last of its part: there is no next block to merge")
        following = blocks.pop(block + 1)
        target["text"] = f"{target['text']} {following['text']}"
    elif action == "delete":
        if len(blocks) == 1:
            raise UserError(f"{label} is the only block of its part; a part needs one")
        blocks.pop(block)
    elif action == "title":
        _start_part(essays, essay, block, label)
    _reslug(essays)


def edit_part(essays: list[dict[str, Any]], essay: int, action: str, title: str = "") -> None:
    """Rename part `essay` (0-based), or join it to the part before (its title becomes a
    paragraph there: a line the parser took for a title)."""
    if action not in PART_ACTIONS:
        raise UserError(f"unknown action {action!r}")
    if not 0 <= essay < len(essays):
        raise NotFound(f"the draft has no part {essay + 1} (parts 1-{len(essays)})")
    part = essays[essay]
    if action == "rename":
        part["title"] = _title(title, f"part {essay + 1}")
    else:
        if essay == 0:
            raise UserError("part 1 has no part before it to join")
        before = essays[essay - 1]
        before["blocks"].append({"type": "paragraph", "text": part["title"]})
        before["blocks"].extend(part["blocks"])
        essays.pop(essay)
    _reslug(essays)


def split_at_blank_lines(text: str) -> list[str]:
    """A block's text as typed (any newline style) → its pieces: a blank line in a text
    box means "a new block here", in the studio and the part editor alike."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [piece for piece in _BLANK_LINE.split(text) if piece.strip()]


def _blocks(essays: list[dict[str, Any]], essay: int, block: int) -> list[dict[str, Any]]:
    if not 0 <= essay < len(essays):
        raise NotFound(f"the draft has no part {essay + 1} (parts 1-{len(essays)})")
    blocks = essays[essay]["blocks"]
    if not 0 <= block < len(blocks):
        raise NotFound(f"part {essay + 1} has no block {block + 1} (blocks 1-{len(blocks)})")
    return blocks


def _checked(pieces: list[tuple[str, str]], label: str) -> list[dict[str, str]]:
    try:
        return blocks_from([{"type": kind, "text": text} for kind, text in pieces])
    except UserError as exc:  # "block 2 is empty" → "part 1, block 3: block 2 is empty"
        raise UserError(f"{label}: {exc}") from None


def _set_text(blocks: list[dict[str, Any]], block: int, posted: str, label: str) -> None:
    """New text for a block; a blank line in it makes one more block per piece."""
    kind = blocks[block]["type"]
    pieces = split_at_blank_lines(posted)
    new = _checked([(kind, pieces[0])] + [("paragraph", p) for p in pieces[1:]], label)
    blocks[block]["text"] = new[0]["text"]
    blocks[block + 1 : block + 1] = new[1:]


def _split(blocks: list[dict[str, Any]], block: int, whole: str, at: int, label: str) -> None:
    if at <= 0 and _BLANK_LINE.search(whole):
        first, rest = _BLANK_LINE.split(whole, maxsplit=1)
    elif 0 < at < len(whole):
        first, rest = whole[:at], whole[at:]
    else:
        raise UserError(
            f"{label}: split where? put the cursor there, give a position, or add a blank line"
        )
    halves = _checked([(blocks[block]["type"], first), ("paragraph", rest)], label)
    blocks[block]["text"] = halves[0]["text"]
    blocks.insert(block + 1, halves[1])


def _start_part(essays: list[dict[str, Any]], essay: int, block: int, label: str) -> None:
    """Block `block` becomes the title of a new part holding the blocks after it."""
    blocks = essays[essay]["blocks"]
    if block == 0:
        raise UserError(f"{label}: part {essay + 1} would be left without text; rename it instead")
    if block + 1 >= len(blocks):
        raise UserError(f"{label}: a title needs at least one block after it")
    title = _title(blocks[block]["text"], label)
    essays.insert(essay + 1, {"title": title, "slug": "", "blocks": blocks[block + 1 :]})
    del blocks[block:]


def _title(value: str, label: str) -> str:
    title = " ".join(value.split())
    if not title:
        raise UserError(f"{label}: the title is empty")
    if len(title) > MAX_PART_TITLE:
        raise UserError(
            f"{label}: a title (the email's subject) is at most {MAX_PART_TITLE} characters,"
            f" this one has {len(title)}"
        )
    _checked([("paragraph", title)], label)
    return title


def _reslug(essays: list[dict[str, Any]]) -> None:
    """Each part's slug from its title, unique in the draft (as the parser makes them)."""
    taken: set[str] = set()
    for number, essay in enumerate(essays, start=1):
        slug = unique_slug(content.slugify(essay["title"]) or f"essay-{number}", taken)
        taken.add(slug)
        essay["slug"] = slug
        essay["number"] = number
