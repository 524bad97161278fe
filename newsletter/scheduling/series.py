"""Series in the database: create (with an essay snapshot), schedule, pause, reschedule.

The essays are copied into the database when a series is scheduled, so editing the files in
content/ later never changes what subscribers receive; `series_content` turns that snapshot
back into the content model for render and delivery.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import ColumnElement, exists, literal, select, update
from sqlalchemy.orm import Session

from newsletter import content
from newsletter.core.db import models
from newsletter.core.db.models import (
    Essay,
    FirstPart,
    Issue,
    IssueStatus,
    LateJoiners,
    Series,
    SeriesStatus,
)
from newsletter.core.errors import Conflict, NotFound, UserError
from newsletter.core.events import record
from newsletter.scheduling.cadence import parse_cadence, schedule, shifted, to_local, to_utc, zone
from newsletter.scheduling.slots import Plan

MODES = ("broadcast", "serial")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")


def is_slug(text: str) -> bool:
    """Could `text` name a series? Lookups refuse anything else before the database sees
    it (PostgreSQL answers a NUL in text with an error, not with "no such row")."""
    return _SLUG.fullmatch(text) is not None


def get_series(session: Session, slug: str) -> Series:
    series = session.scalar(select(Series).where(Series.slug == slug)) if is_slug(slug) else None
    if series is None:
        raise NotFound(f"no series {slug[:100]!r}; see `newsletter series list`")
    return series


def released(series_id: ColumnElement[int]) -> ColumnElement[bool]:
    """SQL: the series has sent (or is sending) a broadcast part; a joiner now is late."""
    return exists().where(
        Issue.series_id == series_id, Issue.status.in_((IssueStatus.SENDING, IssueStatus.SENT))
    )


# The columns a `Plan` is made of, in its field order (Core reads select these).
PLAN_COLUMNS = (
    Series.mode,
    Series.cadence,
    Series.timezone,
    Series.start_at,
    Series.first_part,
    Series.late_joiners,
)


def plan_of(session: Session, series: Series) -> Plan:
    """The scheduling facts of an ORM series (one EXISTS probe for `released`)."""
    out = bool(session.scalar(select(released(literal(series.id)))))
    return Plan(
        series.mode,
        series.cadence,
        series.timezone,
        series.start_at,
        series.first_part,
        series.late_joiners,
        out,
    )


def create_series(
    session: Session,
    slug: str,
    content_series: content.Series,
    cadence: str,
    start_local: dt.datetime,
    tz: str,
    mode: str,
    *,
    first_part: str = FirstPart.NOW,
    late_joiners: str = LateJoiners.NEXT,
    allow_past: bool = False,
) -> Series:
    """Store a series, snapshot its essays and create one Issue per essay.

    A broadcast starting in the past is refused: every part dated before now would go out
    at the next tick, all at once. `allow_past` is for tests, benchmarks and the demo.

    Broadcast issues get their send time from the cadence; serial issues have no date of
    their own (each subscriber's progress decides, at the start's local time of day) and
    wait in status `serial`. `first_part` (serial) and `late_joiners` (broadcast) are the
    series' policies for new readers.
    """
    if not _SLUG.match(slug or ""):
        raise UserError(f"invalid slug {slug!r}: use lower-case letters, digits and hyphens")
    if mode not in MODES:
        raise UserError(f"invalid mode {mode!r}; use broadcast or serial")
    if first_part not in FirstPart.ALL:
        raise UserError(f"invalid first part {first_part!r}; use now or next-slot")
    if late_joiners not in LateJoiners.ALL:
        raise UserError(f"invalid late joiners {late_joiners!r}; use next or catch-up")
    if not content_series.essays:
        raise UserError(f"series {slug!r} has no essays")
    # The snapshot is what every send renders: a control character here would fail each
    # of them (whoever built `content_series`: a loader checks too, code may not have).
    content.check_series(content_series, f"series {slug!r}")
    cad = parse_cadence(cadence)
    zone(tz)
    if mode == "broadcast" and not allow_past and to_utc(start_local, tz) < models.utcnow():
        raise UserError(
            f"the start {start_local:%Y-%m-%d %H:%M} {tz} is in the past: every part dated "
            "before now would go out at once; pick a later start"
        )
    if session.scalar(select(Series.id).where(Series.slug == slug)) is not None:
        raise Conflict(f"series {slug!r} already exists")
    essays = sorted(content_series.essays, key=lambda e: e.number)
    times = schedule(start_local, cad, tz, len(essays))
    series = Series(
        slug=slug,
        title=content_series.title,
        description=content_series.description or "",
        author=content_series.author or "",
        mode=mode,
        cadence=cad.text,
        timezone=tz,
        start_at=times[0],
        status=SeriesStatus.ACTIVE,
        created_at=models.utcnow(),
        first_part=first_part,
        late_joiners=late_joiners,
    )
    session.add(series)
    for position, (essay, when) in enumerate(zip(essays, times, strict=True), start=1):
        row = essay_row(position, essay)
        series.essays.append(row)
        series.issues.append(
            Issue(
                number=position,
                essay=row,
                scheduled_at=when if mode == "broadcast" else None,
                status=IssueStatus.SCHEDULED if mode == "broadcast" else IssueStatus.SERIAL,
            )
        )
    session.flush()
    return series


def essay_row(number: int, essay: content.Essay) -> Essay:
    """A content essay as the snapshot row part `number` stores (what readers will get)."""
    return Essay(
        number=number,
        title=essay.title,
        slug=essay.slug,
        subject=essay.subject,
        preheader=essay.preheader,
        blocks=[block.to_dict() for block in essay.blocks],
    )


def series_content(session: Session, series_id: int) -> content.Series:
    """The stored snapshot as the content model (what render and delivery use)."""
    series = session.get(Series, series_id)
    if series is None:
        raise NotFound(f"no series with id {series_id}")
    essays = tuple(
        content.Essay(
            number=row.number,
            title=row.title,
            slug=row.slug,
            blocks=tuple(content.Block(b["type"], b["text"]) for b in row.blocks),
            subject=row.subject,
            preheader=row.preheader,
        )
        for row in series.essays
    )
    return content.Series(
        slug=series.slug,
        title=series.title,
        essays=essays,
        description=series.description,
        author=series.author,
    )


def _set_status(session: Session, slug: str, status: str, kind: str) -> Series:
    series = get_series(session, slug)
    if series.status == SeriesStatus.FINISHED:
        raise Conflict(f"series {slug!r} is finished")
    series.status = status
    record(session, kind, series_id=series.id)
    return series


def pause(session: Session, slug: str) -> Series:
    """Stop sending this series; nothing is rescheduled (use `reschedule` for that)."""
    return _set_status(session, slug, SeriesStatus.PAUSED, "series_paused")


def resume(session: Session, slug: str) -> Series:
    """Send again; broadcast parts whose time passed during the pause go out at the next tick."""
    return _set_status(session, slug, SeriesStatus.ACTIVE, "series_resumed")


def reschedule(
    session: Session, slug: str, part: int, at_local: dt.datetime, only: bool = False
) -> list[Issue]:
    """Move part `part` to `at_local`; later unsent parts follow with the cadence unless `only`.

    Returns the issues that moved. Parts already fanned out cannot move, and `only` refuses
    to put a part out of order.
    """
    series = get_series(session, slug)
    if series.mode != "broadcast":
        raise UserError(f"series {slug!r} is serial: use --at HH:MM, --cadence or --tz")
    issues = {issue.number: issue for issue in series.issues}
    issue = issues.get(part)
    if issue is None:
        raise NotFound(f"series {slug!r} has no part {part} (parts 1-{len(issues)})")
    if issue.status != IssueStatus.SCHEDULED:
        raise Conflict(f"part {part} is already {issue.status}; it cannot be rescheduled")
    when = to_utc(at_local, series.timezone)
    if when <= models.utcnow():
        raise UserError(f"{at_local:%Y-%m-%d %H:%M} {series.timezone} is in the past")
    if only:
        before, after = issues.get(part - 1), issues.get(part + 1)
        if before and before.scheduled_at and before.scheduled_at >= when:
            raise Conflict(f"part {part} would go before part {part - 1}; drop --only")
        if after and after.scheduled_at and after.scheduled_at <= when:
            raise Conflict(f"part {part} would go after part {part + 1}; drop --only")
        moving = [issue]
    else:
        moving = [i for n, i in sorted(issues.items()) if n >= part]
        moving = [i for i in moving if i.status == IssueStatus.SCHEDULED]
    at_wall = to_local(when, series.timezone).replace(tzinfo=None)
    for target, new_time in zip(
        moving, shifted(at_wall, series.cadence, series.timezone, len(moving)), strict=True
    ):
        target.scheduled_at = new_time
    record(
        session,
        "series_rescheduled",
        series_id=series.id,
        part=part,
        at=when.isoformat(),
        only=only,
    )
    return moving


def finish_completed(session: Session, now: dt.datetime) -> list[int]:
    """Mark `finished` every active broadcast series whose parts have all been sent.

    Its signup page then says so and points at the archive, instead of promising parts
    that will never come. Returns the ids it finished.
    """
    unsent = exists().where(Issue.series_id == Series.id, Issue.status != IssueStatus.SENT)
    finished = list(
        session.scalars(
            update(Series)
            .where(Series.mode == "broadcast", Series.status == SeriesStatus.ACTIVE, ~unsent)
            .values(status=SeriesStatus.FINISHED)
            .returning(Series.id)
        )
    )
    for series_id in finished:
        record(session, "series_finished", series_id=series_id, occurred_at=now)
    return finished
