"""/api/v1 for editors: series, their parts and each part's delivery counts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.core.db.models import Delivery, Essay, Issue, Series, Subscription
from newsletter.core.db.session import transaction
from newsletter.core.errors import NotFound
from newsletter.scheduling.series import get_series
from newsletter.web.api import models as m
from newsletter.web.api.params import MAX_ID, Slug, editor_router

router = editor_router()


def _issues(session: Session, series_id: int, slug: str) -> list[m.IssueOut]:
    counts: dict[int, dict[str, int]] = {}
    for issue_id, status, n in session.execute(
        select(Delivery.issue_id, Delivery.status, func.count())
        .join(Issue, Issue.id == Delivery.issue_id)
        .where(Issue.series_id == series_id)
        .group_by(Delivery.issue_id, Delivery.status)
    ):
        counts.setdefault(issue_id, {})[status] = int(n)
    rows = session.execute(
        select(Issue, Essay.title)
        .join(Essay, Essay.id == Issue.essay_id)
        .where(Issue.series_id == series_id)
        .order_by(Issue.number)
    )
    return [
        m.IssueOut(
            id=issue.id,
            series=slug,
            number=issue.number,
            title=title,
            status=issue.status,
            scheduled_at=issue.scheduled_at,
            deliveries=counts.get(issue.id, {}),
        )
        for issue, title in rows
    ]


@router.get("/series", response_model=list[m.SeriesOut])
def list_series() -> list[m.SeriesOut]:
    with transaction() as session:
        rows = session.scalars(select(Series).order_by(Series.id)).all()
        return [m.SeriesOut.model_validate(row) for row in rows]


@router.get("/series/{slug}", response_model=m.SeriesDetail, responses={404: {}})
def show_series(slug: Slug) -> m.SeriesDetail:
    with transaction() as session:
        series = get_series(session, slug)
        subs = session.execute(
            select(Subscription.status, func.count())
            .where(Subscription.series_id == series.id)
            .group_by(Subscription.status)
        )
        return m.SeriesDetail(
            **m.SeriesOut.model_validate(series).model_dump(),
            subscriptions={status: int(n) for status, n in subs},
            issues=_issues(session, series.id, series.slug),
        )


@router.get("/series/{slug}/issues", response_model=list[m.IssueOut], responses={404: {}})
def series_issues(slug: Slug) -> list[m.IssueOut]:
    with transaction() as session:
        series = get_series(session, slug)
        return _issues(session, series.id, series.slug)


@router.get("/issues/{issue_id}", response_model=m.IssueOut, responses={404: {}})
def show_issue(issue_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> m.IssueOut:
    with transaction() as session:
        issue = session.get(Issue, issue_id)
        if issue is None:
            raise NotFound(f"no issue with id {issue_id}")
        slug = issue.series.slug
        return next(i for i in _issues(session, issue.series_id, slug) if i.id == issue_id)
