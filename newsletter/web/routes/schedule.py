"""The schedule timeline: what goes out when, per series, for the next weeks.

Everyone on the console reads it (editors plan with it, operators size the load), so the
router asks only for a signed-in session. It composes existing read models and holds no
query of its own: the series' schedule views (`delivery.queries`), a serial series' readers
by part (`subscribers.progress`) and what is due soon (`delivery.upcoming`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from newsletter.core.db import models
from newsletter.core.db.session import transaction
from newsletter.delivery.queries import all_series_progress
from newsletter.delivery.upcoming import DueSoon, due_soon
from newsletter.scheduling.queries import PartRow, ScheduleView
from newsletter.subscribers.progress import Spread, reader_spread
from newsletter.web.auth import session_user
from newsletter.web.charts import RateChart, count_chart
from newsletter.web.templating import render

router = APIRouter(
    prefix="/admin/schedule",
    include_in_schema=False,
    tags=["console:any"],
    dependencies=[Depends(session_user)],
)
DAY = dt.timedelta(days=1)


@dataclass
class SeriesTimeline:
    """One series on the timeline: its dated parts in the window (broadcast) or its
    readers' spread (serial), and what it sends tomorrow and this week."""

    view: ScheduleView
    dated: list[PartRow] = field(default_factory=list)
    spread: Spread | None = None
    chart: RateChart | None = None
    week: list[DueSoon] = field(default_factory=list)
    due_day: int = 0
    due_week: int = 0


def timeline(now: dt.datetime, weeks: int) -> list[SeriesTimeline]:
    """Every series, in the order the series list shows them (one transaction)."""
    until = now + dt.timedelta(weeks=weeks)
    with transaction() as session:
        views = all_series_progress(session)
        week = due_soon(session, now, 7 * DAY)
        day = due_soon(session, now, DAY)
        found = []
        for view in views:
            entry = SeriesTimeline(view)
            entry.dated = [  # overdue parts too: still to go, and the reason mail waits
                p
                for p in view.parts
                if p.scheduled_at is not None
                and (p.scheduled_at <= until)
                and (p.scheduled_at >= now or p.status == "scheduled")
            ]
            if view.mode == "serial":
                entry.spread = reader_spread(session, view.series_id)
                entry.chart = count_chart(entry.spread.buckets(), "readers")
            entry.week = [d for d in week if d.series_slug == view.slug]
            entry.due_week = sum(d.readers for d in entry.week)
            entry.due_day = sum(d.readers for d in day if d.series_slug == view.slug)
            found.append(entry)
    return found


def is_overdue(part: PartRow, now: dt.datetime) -> bool:
    """Dated before now and not yet out: a pause, or the beat was down."""
    return part.status == "scheduled" and part.scheduled_at is not None and part.scheduled_at < now


@router.get("")
def schedule_page(request: Request, weeks: Annotated[int, Query(ge=1, le=26)] = 4) -> Response:
    now = models.utcnow()
    return render(
        request,
        "admin/schedule.html",
        {
            "series": timeline(now, weeks),
            "weeks": weeks,
            "now": now,
            "overdue": is_overdue,
            "section": "schedule",
        },
    )
