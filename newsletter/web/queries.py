"""Read-only queries behind the public pages (home, landing pages, archive).

Writes always go through the feature services; these only read. "Published" is the
archive's rule: a broadcast part is public once it has been fanned out, a serial part once
anyone has received it. Future parts never appear, so the archive cannot leak them early.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from newsletter.core.db.models import (
    Delivery,
    DeliveryStatus,
    Essay,
    Issue,
    IssueStatus,
    Series,
    SeriesStatus,
)
from newsletter.core.errors import NotFound


@dataclass(frozen=True)
class Part:
    number: int
    title: str
    scheduled_at: dt.datetime | None
    published: bool
    published_at: dt.datetime | None


def open_series(session: Session) -> list[Series]:
    """Series a reader can still join (not finished), oldest first."""
    return list(
        session.scalars(
            select(Series).where(Series.status != SeriesStatus.FINISHED).order_by(Series.id)
        )
    )


def series_by_slug(session: Session, slug: str) -> Series:
    series = session.scalar(select(Series).where(Series.slug == slug))
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
