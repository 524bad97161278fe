"""Read-only views of series for `series show` / `series list` and the admin console."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.core.db.models import Delivery, Issue, Series, Subscription
from newsletter.scheduling.cadence import to_local
from newsletter.scheduling.series import get_series


@dataclass(frozen=True)
class PartRow:
    part: int
    title: str
    local_time: str | None  # "2026-12-01 09:00 CET"; None for serial parts
    status: str
    deliveries: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduleView:
    slug: str
    title: str
    mode: str
    cadence: str
    timezone: str
    status: str
    subscriptions: dict[str, int]
    parts: list[PartRow]


def _local(series: Series, issue: Issue) -> str | None:
    if issue.scheduled_at is None:
        return None
    return f"{to_local(issue.scheduled_at, series.timezone):%Y-%m-%d %H:%M %Z}"


def schedule_view(session: Session, slug: str) -> ScheduleView:
    series = get_series(session, slug)
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(Delivery.issue_id, Delivery.status, func.count())
        .join(Issue, Issue.id == Delivery.issue_id)
        .where(Issue.series_id == series.id)
        .group_by(Delivery.issue_id, Delivery.status)
    )
    for issue_id, status, count in rows:
        counts.setdefault(issue_id, {})[status] = count
    subs = dict(
        session.execute(
            select(Subscription.status, func.count())
            .where(Subscription.series_id == series.id)
            .group_by(Subscription.status)
        ).all()
    )
    parts = [
        PartRow(i.number, i.essay.title, _local(series, i), i.status, counts.get(i.id, {}))
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
    )


def list_series(session: Session) -> list[ScheduleView]:
    """Every series with its subscription counts (parts without delivery counts)."""
    slugs = session.scalars(select(Series.slug).order_by(Series.slug)).all()
    return [schedule_view(session, slug) for slug in slugs]
