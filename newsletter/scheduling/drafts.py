"""The studio's drafts: a pasted manuscript parsed, shaped block by block, then scheduled.

A draft is a `series_draft` row owned by one console user. Its `data` holds the essays (as
`content check --json` prints them), the schedule form's settings and, once scheduled,
the slug of the series it became: the row stays, so an old tab or bookmark says where the
draft went instead of showing someone else's draft (SQLite reuses a deleted row's id).

The parser's warnings (`content.analyse_manuscript`) are stored on the block they are
about (`block["warning"]`), so they follow the block through merges and splits; an edit
to a block is the editor's decision about it and clears its warning. The edits themselves
live in `shaping`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from newsletter import content
from newsletter.core.db.models import SeriesDraft, utcnow
from newsletter.core.errors import Conflict, NotFound, UserError
from newsletter.scheduling import shaping
from newsletter.scheduling.editing import blocks_from
from newsletter.scheduling.series import create_series

SETTINGS = (
    "title", "slug", "description", "mode", "cadence", "start", "timezone",
    "first_part", "late_joiners",
)  # fmt: skip


@dataclass(frozen=True)
class DraftSummary:
    """One line of "your drafts"."""

    id: int
    title: str
    parts: int
    warnings: int
    updated_at: dt.datetime


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
    _, essays = analyse(text)
    data = {
        "essays": essays,
        "settings": {"title": "", "mode": "serial", "cadence": "weekly",
                     "timezone": "UTC", "first_part": "now", "late_joiners": "next"},
    }  # fmt: skip
    draft = SeriesDraft(owner_id=owner_id, data=data, title="")
    session.add(draft)
    session.flush()
    return draft


def get_draft(session: Session, draft_id: int, owner_id: int) -> SeriesDraft:
    """The owner's draft, scheduled or not (other users' drafts are not found)."""
    draft = session.get(SeriesDraft, draft_id)
    if draft is None or draft.owner_id != owner_id:
        raise NotFound(f"no draft {draft_id}")
    return draft


def open_draft(session: Session, draft_id: int, owner_id: int) -> SeriesDraft:
    """The owner's draft, to change: one already scheduled is a `Conflict`."""
    draft = get_draft(session, draft_id, owner_id)
    if draft.data.get("created"):
        raise Conflict(f"this draft was scheduled as the series {draft.data['created']!r}")
    return draft


def list_drafts(session: Session, owner_id: int) -> list[DraftSummary]:
    """The owner's unscheduled drafts, the latest first."""
    rows = session.scalars(
        select(SeriesDraft)
        .where(SeriesDraft.owner_id == owner_id)
        .order_by(SeriesDraft.updated_at.desc(), SeriesDraft.id.desc())
    )
    return [
        DraftSummary(
            row.id,
            row.title or (row.data["essays"][0]["title"] if row.data["essays"] else ""),
            len(row.data["essays"]),
            len(warnings_of(row.data)),
            row.updated_at,
        )
        for row in rows
        if not row.data.get("created")
    ]


def discard_draft(session: Session, draft: SeriesDraft) -> None:
    """Throw an unscheduled draft away (a scheduled one stays as the pointer to its series)."""
    if draft.data.get("created"):
        raise Conflict(f"this draft was scheduled as the series {draft.data['created']!r}")
    session.delete(draft)


def _save(draft: SeriesDraft) -> None:
    draft.updated_at = utcnow()
    flag_modified(draft, "data")


def edit_block(
    draft: SeriesDraft, essay: int, block: int, action: str, text: str = "", at: int = 0
) -> None:
    """One change to one block (see `shaping.edit_block`)."""
    shaping.edit_block(draft.data["essays"], essay, block, action, text, at)
    _save(draft)


def edit_part(draft: SeriesDraft, essay: int, action: str, title: str = "") -> None:
    """Rename a part or join it to the one before (see `shaping.edit_part`)."""
    shaping.edit_part(draft.data["essays"], essay, action, title)
    _save(draft)


def set_settings(draft: SeriesDraft, values: dict[str, str]) -> None:
    draft.data["settings"].update({k: v.strip() for k, v in values.items() if k in SETTINGS})
    settings = draft.data["settings"]
    if not settings.get("slug") and settings.get("title"):
        settings["slug"] = content.slugify(settings["title"])[:60].strip("-")
    draft.title = settings.get("title", "")[:300]
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
    """Schedule the draft as a series; the draft then only says where it went."""
    s = draft.data["settings"]
    if not (s.get("title") or "").strip():
        raise UserError("the series needs a title")
    try:
        start = dt.datetime.fromisoformat(s.get("start") or "")
    except ValueError:
        raise UserError("start must be a date and time, like 2026-12-01T09:00") from None
    if not (s.get("timezone") or "").strip():
        raise UserError("the time zone is empty; pick one, such as Europe/Berlin or UTC")
    parsed = draft_content(draft)
    series = create_series(
        session, s.get("slug", ""), parsed, s.get("cadence", ""), start.replace(tzinfo=None),
        s["timezone"], s.get("mode", ""),
        first_part=s.get("first_part") or "now", late_joiners=s.get("late_joiners") or "next",
    )  # fmt: skip
    draft.data["created"] = series.slug
    _save(draft)
    return series
