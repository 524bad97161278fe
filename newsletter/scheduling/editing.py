"""Editing a scheduled series: its settings, the text of unsent parts, their order.

Sent parts stay as sent: the archive shows what readers got, so every change here refuses
a part that any reader has received (or that is being sent) with a one-line `Conflict`.
Parts are renumbered so numbers stay 1…N, and a broadcast's slot dates stay with the
positions (moving part 4 to 3 sends it at part 3's date). Every edit bumps the series'
revision, which is what a worker's rendered copy is keyed on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from newsletter.content.characters import describe
from newsletter.core.db.models import (
    Delivery,
    DeliveryStatus,
    Essay,
    Issue,
    IssueStatus,
    Series,
    SeriesStatus,
    Subscription,
)
from newsletter.core.errors import Conflict, NotFound, UserError
from newsletter.core.events import record
from newsletter.scheduling.sender import SENDER_FIELDS, clean_sender_field
from newsletter.scheduling.series import get_series

BLOCK_TYPES = ("paragraph", "pull_quote")
MAX_TITLE = 300


def is_sent(session: Session, issue: Issue) -> bool:
    """Has any reader got this part, or is it going out? Then it is read-only."""
    if issue.status in (IssueStatus.SENDING, IssueStatus.SENT) or issue.fanned_out_at:
        return True
    return bool(session.scalar(select(exists().where(Delivery.issue_id == issue.id))))


def sent_numbers(session: Session, series: Series) -> set[int]:
    """The numbers of the series' read-only parts."""
    return {issue.number for issue in series.issues if is_sent(session, issue)}


def find_part(series: Series, number: int) -> Issue:
    """Part `number`, sent or not; NotFound names the parts there are."""
    for issue in series.issues:
        if issue.number == number:
            return issue
    count = len(series.issues)
    raise NotFound(f"series {series.slug!r} has no part {number} (parts 1-{count})")


def _part(session: Session, series: Series, number: int) -> Issue:
    issue = find_part(series, number)
    if is_sent(session, issue):
        raise Conflict(f"part {number} of {series.slug!r} was sent; it stays as sent")
    return issue


def _changed(session: Session, series: Series, kind: str, **facts: object) -> None:
    series.revision += 1
    record(session, kind, series_id=series.id, **facts)


def _check_text(text: str, label: str) -> None:
    problem = describe(text)
    if problem is not None:
        raise UserError(f"{label} {problem}")


def _line(label: str, value: str, limit: int = MAX_TITLE) -> str:
    text = " ".join(value.split())
    if not text:
        raise UserError(f"{label} is empty")
    if len(text) > limit:
        raise UserError(f"{label} is longer than {limit} characters")
    _check_text(text, label)
    return text


def clean_title(value: str) -> str:
    """A part's title as stored: one line, spaces collapsed, checked like every edit."""
    return _line("title", value)


def update_series(session: Session, slug: str, changes: Mapping[str, str | None]) -> Series:
    """Change the title, description or sender settings; a sender value of "" or None
    goes back to the global default. Unknown keys are refused."""
    series = get_series(session, slug)
    if series.status == SeriesStatus.DELETED:
        raise Conflict(f"series {slug!r} was deleted")
    for field, value in changes.items():
        if field == "title":
            series.title = _line("title", value or "")
        elif field == "description":
            text = (value or "").strip()
            _check_text(text, "description")
            series.description = text
        elif field in SENDER_FIELDS:
            setattr(series, field, clean_sender_field(field, value))
        else:
            raise UserError(f"cannot change {field!r}")
    _changed(session, series, "series_updated", fields=sorted(changes))
    return series


def blocks_from(raw: Sequence[Mapping[str, object]]) -> list[dict[str, str]]:
    """Checked blocks (`[{"type", "text"}]`) as the snapshot stores them."""
    blocks: list[dict[str, str]] = []
    for index, block in enumerate(raw, start=1):
        kind, text = block.get("type"), block.get("text")
        if kind not in BLOCK_TYPES:
            raise UserError(f"block {index}: type must be paragraph or pull_quote")
        if not isinstance(text, str) or not text.strip():
            raise UserError(f"block {index} is empty")
        _check_text(text, f"block {index}")
        blocks.append({"type": str(kind), "text": text.strip()})
    if not blocks:
        raise UserError("an essay needs at least one block")
    return blocks


def edit_essay(
    session: Session,
    slug: str,
    number: int,
    *,
    title: str | None = None,
    blocks: Sequence[Mapping[str, object]] | None = None,
) -> Essay:
    """Replace an unsent part's title and/or blocks."""
    series = get_series(session, slug)
    essay = _part(session, series, number).essay
    if title is not None:
        essay.title = _line("title", title)
    if blocks is not None:
        essay.blocks = blocks_from(blocks)
    _changed(session, series, "essay_edited", part=number)
    return essay


def _renumber(
    session: Session,
    series: Series,
    order: list[Issue],
    first: int,
    dates: dict[int, dt.datetime | None] | None = None,
) -> None:
    """Give `order` the numbers first, first+1, …; broadcast dates stay with positions."""
    dates = dates or {i.number: i.scheduled_at for i in series.issues}
    for issue in order:  # out of the way of the unique (series, number) keys first
        issue.number = issue.essay.number = -issue.number
    session.flush()
    for position, issue in enumerate(order, start=first):
        issue.number = issue.essay.number = position
        if series.mode == "broadcast":
            issue.scheduled_at = dates.get(position, issue.scheduled_at)
    session.flush()
    series.issues.sort(key=lambda i: i.number)
    series.essays.sort(key=lambda e: e.number)


def move_part(session: Session, slug: str, number: int, to: int) -> Issue:
    """Move unsent part `number` to position `to`; the parts between shift by one."""
    series = get_series(session, slug)
    issue = _part(session, series, number)
    if not 1 <= to <= len(series.issues):
        raise UserError(f"position {to} is outside 1-{len(series.issues)}")
    low, high = min(number, to), max(number, to)
    span = [i for i in series.issues if low <= i.number <= high]
    if any(is_sent(session, i) for i in span):
        raise Conflict("a sent part stands in the way; sent parts keep their place")
    span.remove(issue)
    span.insert(to - low, issue)
    _renumber(session, series, span, low)
    _changed(session, series, "part_moved", part=number, to=to)
    return issue


def remove_part(session: Session, slug: str, number: int) -> None:
    """Remove unsent part `number`; later parts move up (and into the earlier dates)."""
    series = get_series(session, slug)
    issue = _part(session, series, number)
    if len(series.issues) == 1:
        raise Conflict(f"part {number} is the only part; delete the series instead")
    later = [i for i in series.issues if i.number > number]
    dates = {i.number: i.scheduled_at for i in series.issues}
    essay = issue.essay
    series.issues.remove(issue)
    series.essays.remove(essay)
    session.flush()
    if later:
        _renumber(session, series, later, number, dates)
    _changed(session, series, "part_removed", part=number)


@dataclass(frozen=True)
class Deleted:
    slug: str
    removed: bool  # True: the row is gone; False: kept as `deleted` for its archive
    kept_parts: int


def delete_series(session: Session, slug: str, *, force: bool = False) -> Deleted:
    """Delete a series. With nothing sent it is removed outright. With sent parts it needs
    `force`: nothing more goes out (unsent parts, subscriptions and open deliveries go),
    and the series stays, status `deleted`, so its sent parts stay readable in the archive."""
    series = get_series(session, slug)
    sent = sent_numbers(session, series)
    session.execute(delete(Subscription).where(Subscription.series_id == series.id))
    if not sent:
        record(session, "series_deleted", series_id=series.id, kept_parts=0)
        session.delete(series)
        session.flush()
        return Deleted(slug, True, 0)
    if not force:
        raise Conflict(
            f"series {slug!r} has sent {len(sent)} part(s); --force deletes it and keeps "
            "the archive of those"
        )
    for issue in [i for i in series.issues if i.number not in sent]:
        series.essays.remove(issue.essay)
        series.issues.remove(issue)
    open_rows = (DeliveryStatus.PENDING, DeliveryStatus.QUEUED)
    session.execute(
        update(Delivery)
        .where(Delivery.issue_id.in_(select(Issue.id).where(Issue.series_id == series.id)))
        .where(Delivery.status.in_(open_rows))
        .values(status=DeliveryStatus.SKIPPED)
    )
    series.status = SeriesStatus.DELETED
    _changed(session, series, "series_deleted", kept_parts=len(sent))
    session.flush()
    return Deleted(slug, False, len(sent))
