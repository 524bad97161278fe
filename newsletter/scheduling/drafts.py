"""The studio's drafts: a pasted manuscript parsed, shaped block by block, then scheduled.

A draft is a `series_draft` row owned by one console user; each edit (a block's kind,
merge with the next, split, new text) is one call here, so the page works as plain form
POSTs without JavaScript. `create_from_draft` hands the result to `create_series`.

The parser's warnings (`content.analyse_manuscript`) are stored on the block they are
about (`block["warning"]`), so they follow the block through merges and splits; an edit
to a block is the editor's decision about it and clears its warning.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from newsletter import content
from newsletter.core.db.models import SeriesDraft, utcnow
from newsletter.core.errors import NotFound, UserError
from newsletter.scheduling.editing import blocks_from
from newsletter.scheduling.series import create_series

ACTIONS = ("kind", "merge", "split", "text", "delete")
SETTINGS = (
    "title", "slug", "description", "mode", "cadence", "start", "timezone",
    "first_part", "late_joiners",
)  # fmt: skip


def analyse(text: str, slug: str = "draft") -> tuple[content.Series, list[dict[str, Any]]]:
    """The parse, and its essays as the draft stores them: each block that the parser
    called a close call carries its warning."""
    analysis = content.analyse_manuscript(text, slug=slug, source="manuscript")
    essays = [essay.to_dict() for essay in analysis.series.essays]
    for warning in analysis.warnings:
        blocks = essays[warning.essay - 1]["blocks"] if 0 < warning.essay <= len(essays) else []
        if 0 <= warning.block < len(blocks):
            blocks[warning.block]["warning"] = warning.message
    return analysis.series, essays


def warnings_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The open warnings of a draft, in reading order, with where they are."""
    return [
        {"essay": ei, "block": bi, "message": block["warning"]}
        for ei, essay in enumerate(data["essays"])
        for bi, block in enumerate(essay["blocks"])
        if block.get("warning")
    ]


def start_draft(session: Session, owner_id: int, text: str) -> SeriesDraft:
    if not text.strip():
        raise UserError("the manuscript is empty")
    parsed, essays = analyse(text)
    data = {
        "essays": essays,
        "settings": {"title": "", "mode": "serial", "cadence": "weekly",
                     "timezone": "UTC", "first_part": "now", "late_joiners": "next"},
    }  # fmt: skip
    draft = SeriesDraft(owner_id=owner_id, data=data, title=parsed.title)
    session.add(draft)
    session.flush()
    return draft


def get_draft(session: Session, draft_id: int, owner_id: int) -> SeriesDraft:
    draft = session.get(SeriesDraft, draft_id)
    if draft is None or draft.owner_id != owner_id:
        raise NotFound(f"no draft {draft_id}")
    return draft


def _save(draft: SeriesDraft) -> None:
    draft.updated_at = utcnow()
    flag_modified(draft, "data")


def edit_block(
    draft: SeriesDraft, essay: int, block: int, action: str, text: str = "", at: int = 0
) -> None:
    """One change to block `block` (0-based) of essay `essay` (0-based)."""
    try:
        blocks = draft.data["essays"][essay]["blocks"]
        target = blocks[block]
    except (IndexError, KeyError):
        raise NotFound(f"no block {block + 1} in essay {essay + 1}") from None
    target.pop("warning", None)
    if action == "kind":
        target["type"] = "paragraph" if target["type"] == "pull_quote" else "pull_quote"
    elif action == "merge":
        if block + 1 >= len(blocks):
            raise UserError("the last block has no next block to merge with")
        target["text"] = f"{target['text']} {blocks.pop(block + 1)['text']}"
    elif action == "split":
        whole = target["text"]
        if "\n\n" in whole and not at:
            first, rest = whole.split("\n\n", 1)
        elif 0 < at < len(whole):
            first, rest = whole[:at], whole[at:]
        else:
            raise UserError("split where? give a position inside the text or a blank line")
        target["text"] = first.strip()
        blocks.insert(block + 1, {"type": "paragraph", "text": rest.strip()})
    elif action == "text":
        target["text"] = blocks_from([{"type": target["type"], "text": text}])[0]["text"]
    elif action == "delete":
        if len(blocks) == 1:
            raise UserError("an essay needs at least one block")
        blocks.pop(block)
    else:
        raise UserError(f"unknown action {action!r}")
    _save(draft)


def set_settings(draft: SeriesDraft, values: dict[str, str]) -> None:
    draft.data["settings"].update({k: v.strip() for k, v in values.items() if k in SETTINGS})
    draft.title = draft.data["settings"].get("title", "")[:300]
    _save(draft)


def draft_content(draft: SeriesDraft) -> content.Series:
    """The draft as the content model, for previews and test sends before it is a series."""
    s = draft.data["settings"]
    essays = tuple(
        content.Essay(
            number=n,
            title=e["title"],
            slug=e["slug"],
            blocks=tuple(content.Block(b["type"], b["text"]) for b in blocks_from(e["blocks"])),
        )
        for n, e in enumerate(draft.data["essays"], start=1)
    )
    return content.Series(
        slug=s.get("slug") or "draft", title=(s.get("title") or "").strip() or "Untitled",
        essays=essays, description=(s.get("description") or "").strip(),
    )  # fmt: skip


def create_from_draft(session: Session, draft: SeriesDraft) -> Any:
    """Schedule the draft as a series (the draft is then gone)."""
    s = draft.data["settings"]
    try:
        start = dt.datetime.fromisoformat(s.get("start") or "")
    except ValueError:
        raise UserError("start must look like 2026-12-01T09:00") from None
    if not (s.get("title") or "").strip():
        raise UserError("the series needs a title")
    parsed = draft_content(draft)
    series = create_series(
        session, s.get("slug", ""), parsed, s.get("cadence", ""), start.replace(tzinfo=None),
        s.get("timezone") or "UTC", s.get("mode", ""),
        first_part=s.get("first_part") or "now", late_joiners=s.get("late_joiners") or "next",
    )  # fmt: skip
    session.delete(draft)
    return series
