"""Read-only views of series: the schedule (CLI, console, API) and the public archive.

Writes always go through the services in `series`; these only read. "Published" is the
archive's rule: a broadcast part is public once it has been fanned out, a serial part once
anyone has received it. Future parts never appear, so the archive cannot leak them early.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import exists, func, literal, or_, select
from sqlalchemy.orm import Session

from newsletter.core.db.models import (
    Delivery,
    DeliveryStatus,
    Essay,
    FirstPart,
    Issue,
    IssueStatus,
    LateJoiners,
    Series,
    SeriesStatus,
    Subscription,
)
from newsletter.core.errors import NotFound
from newsletter.scheduling.cadence import to_local
from newsletter.scheduling.series import get_series, is_slug, released


@dataclass(frozen=True)
class PartRow:
    part: int
    title: str
    local_time: str | None  # "2026-12-01 09:00 CET"; None for serial parts
    status: str
    deliveries: dict[str, int] = field(default_factory=dict)  # filled by delivery.queries
    issue_id: int = 0
    scheduled_at: dt.datetime | None = None  # naive UTC; None for serial parts


@dataclass(frozen=True)
class ScheduleView:
    """A series and its parts, without delivery progress (see `delivery.queries`)."""

    slug: str
    title: str
    mode: str
    cadence: str
    timezone: str
    status: str
    subscriptions: dict[str, int]
    parts: list[PartRow]
    series_id: int = 0
    start_local: str = ""  # "2026-12-01 09:00 CET": a broadcast's first send, a serial's slot
    first_part: str = ""  # serial: a new reader's part 1, now or next-slot
    late_joiners: str = ""  # broadcast: next or catch-up


def _local(series: Series, issue: Issue) -> str | None:
    if issue.scheduled_at is None:
        return None
    return f"{to_local(issue.scheduled_at, series.timezone):%Y-%m-%d %H:%M %Z}"


def schedule_view(session: Session, slug: str) -> ScheduleView:
    """The series, its subscription counts and every part with its local send time."""
    series = get_series(session, slug)
    subs = dict(
        session.execute(
            select(Subscription.status, func.count())
            .where(Subscription.series_id == series.id)
            .group_by(Subscription.status)
        ).all()
    )
    parts = [
        PartRow(
            i.number,
            i.essay.title,
            _local(series, i),
            i.status,
            issue_id=i.id,
            scheduled_at=i.scheduled_at,
        )
        for i in series.issues
    ]
    return ScheduleView(
        series.slug,
        series.title,
        series.mode,
        series.cadence,
        series.timezone,
        series.status,
        subs,
        parts,
        series.id,
        f"{to_local(series.start_at, series.timezone):%Y-%m-%d %H:%M %Z}",
        series.first_part,
        series.late_joiners,
    )


def all_series_slugs(session: Session) -> list[str]:
    return list(session.scalars(select(Series.slug).order_by(Series.slug)))


def series_title(session: Session, series_id: int | None) -> str | None:
    """The title for a page about one series; None when the link names none (or a gone one)."""
    series = session.get(Series, series_id) if series_id else None
    return series.title if series else None


def slug_of_issue(session: Session, issue_id: int) -> str:
    """The slug of the series an issue belongs to; NotFound for an unknown id."""
    slug = session.scalar(
        select(Series.slug).join(Issue, Issue.series_id == Series.id).where(Issue.id == issue_id)
    )
    if slug is None:
        raise NotFound(f"no issue with id {issue_id}")
    return slug


def all_series(session: Session) -> list[Series]:
    """Every series, oldest first (the API's list)."""
    return list(session.scalars(select(Series).order_by(Series.id)))


@dataclass(frozen=True)
class Part:
    number: int
    issue_id: int
    title: str
    scheduled_at: dt.datetime | None
    published: bool
    published_at: dt.datetime | None


def open_series(session: Session) -> list[Series]:
    """Series a reader can still join (not finished, or finished and evergreen: late
    joiners catch up), oldest first."""
    evergreen = Series.late_joiners == LateJoiners.CATCH_UP
    return list(
        session.scalars(
            select(Series)
            .where((Series.status != SeriesStatus.FINISHED) | evergreen)
            .where(Series.status != SeriesStatus.DELETED)
            .order_by(Series.id)
        )
    )


@dataclass(frozen=True)
class Welcome:
    """What the confirmation page may promise a new reader of one series, and no more."""

    title: str
    slug: str
    serial: bool
    first_part_now: bool
    late: bool  # broadcast parts already went out before they joined
    catch_up: bool


def welcome(session: Session, series_id: int | None) -> Welcome | None:
    series = session.get(Series, series_id) if series_id else None
    if series is None:
        return None
    return Welcome(
        title=series.title,
        slug=series.slug,
        serial=series.mode == "serial",
        first_part_now=series.first_part == FirstPart.NOW,
        late=bool(session.scalar(select(released(literal(series.id))))),
        catch_up=series.late_joiners == LateJoiners.CATCH_UP,
    )


def series_by_slug(session: Session, slug: str) -> Series:
    series = session.scalar(select(Series).where(Series.slug == slug)) if is_slug(slug) else None
    if series is None:
        raise NotFound("There is no series at this address.")
    return series


def _published_clause():
    sent_to_someone = exists().where(
        Delivery.issue_id == Issue.id, Delivery.status == DeliveryStatus.SENT
    )
    return or_(
        Issue.status.in_((IssueStatus.SENDING, IssueStatus.SENT)),
        Issue.fanned_out_at.is_not(None),
        sent_to_someone,
    )


def parts(session: Session, series: Series) -> list[Part]:
    """Every part with its title and whether it is in the archive yet."""
    published = _published_clause().label("published")
    rows = session.execute(
        select(Issue, Essay.title, published)
        .join(Essay, Essay.id == Issue.essay_id)
        .where(Issue.series_id == series.id)
        .order_by(Issue.number)
    ).all()
    return [
        Part(
            number=issue.number,
            issue_id=issue.id,
            title=title,
            scheduled_at=issue.scheduled_at,
            published=bool(is_published),
            published_at=issue.fanned_out_at or issue.scheduled_at or issue.completed_at,
        )
        for issue, title, is_published in rows
    ]


def published_essay(session: Session, series: Series, number: int) -> tuple[Issue, Essay]:
    """Part `number` if it is in the archive; NotFound for future or unknown parts."""
    row = session.execute(
        select(Issue, Essay)
        .join(Essay, Essay.id == Issue.essay_id)
        .where(Issue.series_id == series.id, Issue.number == number, _published_clause())
    ).first()
    if row is None:
        raise NotFound("This part has not been published yet.")
    return row[0], row[1]
