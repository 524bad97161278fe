"""The console's part editor: a new part typed in by an editor, and the edit screens' view.

`growth.add_part` already appends a parsed essay (the CLI's and the API's file upload); an
editor in the console types a title and plain text instead, and may want the new part
somewhere among the unsent ones rather than last. `add_part` checks that input the way
`editing` checks every edit, appends through `growth.add_part` (so the Essay and Issue rows,
the broadcast slot date and serial readers who had finished come out exactly as there),
and then moves it into place with `editing.move_part`, so dates stay with positions.
A new part never goes before a sent one: readers already have those, in that order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from newsletter import content
from newsletter.content.slugs import slugify
from newsletter.core.db.models import Issue, SeriesStatus
from newsletter.core.errors import Conflict, UserError
from newsletter.scheduling import editing, growth
from newsletter.scheduling.sender import SENDER_FIELDS
from newsletter.scheduling.series import get_series
from newsletter.scheduling.shaping import split_at_blank_lines
from newsletter.scheduling.slots import local_label

QUOTE_MARK = "> "
MAX_BLOCKS = 500


def blocks_from_text(text: str) -> list[dict[str, str]]:
    """Plain text as blocks: blank lines separate blocks, a block whose first line starts
    with "> " is a pull quote. Lines of one block are joined with a space, because a
    paragraph is one line in the snapshot whatever the editor's textarea wrapped."""
    blocks: list[dict[str, str]] = []
    for chunk in split_at_blank_lines(text):
        lines = [line.strip() for line in chunk.split("\n") if line.strip()]
        if not lines:
            continue
        quote = lines[0].startswith(QUOTE_MARK.strip())
        if quote:
            lines = [line.removeprefix(">").strip() for line in lines]
        joined = " ".join(line for line in lines if line)
        if joined:
            blocks.append({"type": "pull_quote" if quote else "paragraph", "text": joined})
    if len(blocks) > MAX_BLOCKS:
        raise UserError(f"a part has at most {MAX_BLOCKS} blocks")
    return blocks


def add_part(
    session: Session,
    slug: str,
    title: str,
    blocks: Sequence[Mapping[str, object]],
    position: int | None = None,
    now: dt.datetime | None = None,
) -> Issue:
    """Add an unsent part titled `title` with `blocks`: last, or at `position` (1-based)
    among the unsent parts. Everything is checked before anything changes."""
    series = get_series(session, slug)
    if series.status == SeriesStatus.DELETED:
        raise Conflict(f"series {slug!r} was deleted")
    clean_title = editing.clean_title(title)
    clean_blocks = editing.blocks_from(blocks)
    last = len(series.issues) + 1
    if position is not None:
        if not 1 <= position <= last:
            raise UserError(f"position {position} is outside 1-{last}")
        sent = editing.sent_numbers(session, series)
        if any(number >= position for number in sent):
            raise Conflict(
                f"part {max(sent)} was sent; a new part goes after it (position {max(sent) + 1}"
                f" or later)"
            )
    essay = content.Essay(
        number=last,
        title=clean_title,
        slug=slugify(clean_title) or "part",
        blocks=tuple(content.Block(b["type"], b["text"]) for b in clean_blocks),  # type: ignore[arg-type]
    )
    issue = growth.add_part(session, slug, essay, now)
    if position is not None and position != issue.number:
        issue = editing.move_part(session, slug, issue.number, position)
    return issue


@dataclass(frozen=True)
class PartRow:
    """One part as the edit screen lists it."""

    number: int
    title: str
    sent: bool
    when: str  # the broadcast date in the series' zone, or "" (serial: per reader)


@dataclass(frozen=True)
class SeriesEditView:
    """What the "Edit series" screen shows: settings as stored and every part."""

    slug: str
    title: str
    description: str
    mode: str
    timezone: str
    status: str
    sender: dict[str, str]  # "" where the series uses the global value
    parts: list[PartRow]

    @property
    def first_unsent(self) -> int:
        """The first position a part may move or be added to."""
        sent = [p.number for p in self.parts if p.sent]
        return max(sent, default=0) + 1


def edit_view(session: Session, slug: str) -> SeriesEditView:
    """The series' settings and its parts, each marked sent (read-only) or not."""
    series = get_series(session, slug)
    sent = editing.sent_numbers(session, series)
    parts = [
        PartRow(
            issue.number,
            issue.essay.title,
            issue.number in sent,
            f"{local_label(issue.scheduled_at, series.timezone)} {series.timezone}"
            if issue.scheduled_at
            else "",
        )
        for issue in sorted(series.issues, key=lambda i: i.number)
    ]
    return SeriesEditView(
        series.slug,
        series.title,
        series.description,
        series.mode,
        series.timezone,
        series.status,
        {field: getattr(series, field) or "" for field in SENDER_FIELDS},
        parts,
    )


@dataclass(frozen=True)
class PartView:
    """One part as its edit screen shows it."""

    slug: str
    series_title: str
    number: int
    count: int
    title: str
    blocks: list[dict[str, str]]
    sent: bool


def part_view(session: Session, slug: str, number: int) -> PartView:
    """Part `number` of the series with its blocks (NotFound for a part it lacks)."""
    series = get_series(session, slug)
    issue = editing.find_part(series, number)
    return PartView(
        series.slug,
        series.title,
        number,
        len(series.issues),
        issue.essay.title,
        [dict(block) for block in issue.essay.blocks],
        editing.is_sent(session, issue),
    )
