"""A series that changes after it started: a part added, a serial schedule moved.

`add_part` grows a running (or finished) series by one essay: serial readers who had
finished get it at their next slot, and a broadcast schedule extends by one cadence step.
`reschedule_serial` moves a serial series' send slot (time of day, cadence or zone) for
every reader's future parts at once. Services take a Session and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from newsletter.content import ContentError, Essay, parse_manuscript
from newsletter.content.markdown import parse_essay
from newsletter.content.slugs import slugify
from newsletter.content.textfiles import read_text
from newsletter.core.db import models
from newsletter.core.db.models import (
    Issue,
    IssueStatus,
    SeriesStatus,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.core.errors import UserError
from newsletter.core.events import record
from newsletter.scheduling.cadence import parse_cadence, to_local, to_utc, zone
from newsletter.scheduling.series import essay_row, get_series, plan_of
from newsletter.scheduling.slots import Plan, after_part, next_slot

# Rows per UPDATE … WHERE id IN (…): well below SQLite's bound-parameter limit.
_CHUNK = 5000


def read_part(path: Path) -> tuple[str, bool]:
    """A part's file as text, and whether it is Markdown (`.md`) or a plain manuscript."""
    return read_text(Path(path)), Path(path).suffix.lower() in (".md", ".markdown")


def parse_part(text: str, number: int, *, markdown: bool, source: str) -> Essay:
    """One essay from Markdown (`# Title` and paragraphs) or a plain-text manuscript."""
    if markdown:
        head = next((ln for ln in text.splitlines() if ln.startswith("# ")), "# part")
        return parse_essay(text, number=number, slug=slugify(head[2:]) or "part", source=source)
    essays = parse_manuscript(text, slug="part", source=source).essays
    if len(essays) != 1:
        raise ContentError(f"{source}: holds {len(essays)} essays; a new part is one essay")
    only = essays[0]
    return Essay(number, only.title, only.slug, only.blocks, only.subject, only.preheader)


def add_part(session: Session, slug: str, essay: Essay, now: dt.datetime | None = None) -> Issue:
    """Append `essay` as the series' next part; returns its Issue.

    Broadcast: it is scheduled one cadence step after the last part (or at the next slot,
    if that is already past), and a finished series is active again. Serial: readers who
    had finished get it at their next slot in their own zone.
    """
    now = now or models.utcnow()
    series = get_series(session, slug)
    number = (
        session.scalar(select(func.max(Issue.number)).where(Issue.series_id == series.id)) or 0
    ) + 1
    essay = Essay(number, essay.title, essay.slug, essay.blocks, essay.subject, essay.preheader)
    row = essay_row(number, essay)
    series.essays.append(row)
    plan = plan_of(session, series)
    broadcast = series.mode == "broadcast"
    issue = Issue(
        number=number,
        essay=row,
        scheduled_at=_next_broadcast(session, series.id, plan, now) if broadcast else None,
        status=IssueStatus.SCHEDULED if broadcast else IssueStatus.SERIAL,
    )
    series.issues.append(issue)
    series.revision += 1  # every part's "of N" changed
    if series.status == SeriesStatus.FINISHED:
        series.status = SeriesStatus.ACTIVE
    session.flush()
    reopened = 0 if broadcast else _reopen_finished(session, series.id, plan, now)
    record(session, "series_part_added", series_id=series.id, part=number, reopened=reopened)
    return issue


def _next_broadcast(session: Session, series_id: int, plan: Plan, now: dt.datetime) -> dt.datetime:
    last = session.scalar(select(func.max(Issue.scheduled_at)).where(Issue.series_id == series_id))
    if last is None:
        return next_slot(plan, plan.timezone, now)
    return after_part(plan, plan.timezone, last, now)


def _reopen_finished(session: Session, series_id: int, plan: Plan, now: dt.datetime) -> int:
    """Finished serial readers → active, the new part due at their next slot: one UPDATE
    per reader zone (a handful), not one per reader."""
    own = func.coalesce(Subscriber.timezone, plan.timezone)
    zones = session.scalars(
        select(own)
        .distinct()
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(
            Subscription.series_id == series_id,
            Subscription.status == SubscriptionStatus.FINISHED,
        )
    ).all()
    reopened = 0
    for name in zones:
        readers = select(Subscriber.id).where(own == name)
        reopened += session.execute(
            update(Subscription)
            .where(
                Subscription.series_id == series_id,
                Subscription.status == SubscriptionStatus.FINISHED,
                Subscription.subscriber_id.in_(readers),
            )
            .values(status=SubscriptionStatus.ACTIVE, next_due_at=next_slot(plan, name, now))
            .execution_options(synchronize_session=False)
        ).rowcount
    return reopened


def reschedule_serial(
    session: Session,
    slug: str,
    at: dt.time | None = None,
    cadence: str | None = None,
    tz: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Move a serial series' slot: time of day `at`, `cadence` and/or zone `tz`.

    Every reader's next part keeps its local date and moves to the new time (in their own
    zone, or the series' new one), or to the next slot if that is already past; the parts
    after it follow the new cadence. Returns how many readers' next parts moved.
    """
    now = now or models.utcnow()
    series = get_series(session, slug)
    if series.mode != "serial":
        raise UserError(f"series {slug!r} is broadcast: use --part and --at YYYY-MM-DDTHH:MM")
    if at is None and cadence is None and tz is None:
        raise UserError("nothing to change: give --at HH:MM, --cadence or --tz")
    old = plan_of(session, series)
    if tz is not None:
        zone(tz)
    if cadence is not None:
        series.cadence = parse_cadence(cadence).text
    start_local = to_local(series.start_at, series.timezone).replace(tzinfo=None)
    new_tz = tz or series.timezone
    series.start_at = to_utc(dt.datetime.combine(start_local.date(), at or old.slot), new_tz)
    series.timezone = new_tz
    session.flush()
    plan = plan_of(session, series)
    rows = session.execute(
        select(Subscription.id, Subscription.next_due_at, Subscriber.timezone)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            Subscription.series_id == series.id,
            Subscription.status.in_((SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED)),
            Subscription.next_due_at.is_not(None),
        )
    ).all()
    moves: dict[dt.datetime, list[int]] = defaultdict(list)
    for sub_id, due, own in rows:
        was = to_local(due, old.reader_zone(own)).date()
        new = to_utc(dt.datetime.combine(was, plan.slot), plan.reader_zone(own))
        if new <= now:
            new = next_slot(plan, plan.reader_zone(own), now)
        if new != due:
            moves[new].append(sub_id)
    for due, ids in moves.items():
        for i in range(0, len(ids), _CHUNK):
            session.execute(
                update(Subscription)
                .where(Subscription.id.in_(ids[i : i + _CHUNK]))
                .values(next_due_at=due)
                .execution_options(synchronize_session=False)
            )
    moved = sum(len(ids) for ids in moves.values())
    record(
        session,
        "series_rescheduled",
        series_id=series.id,
        at=f"{plan.slot:%H:%M}",
        cadence=series.cadence,
        tz=series.timezone,
        moved=moved,
    )
    return moved
