"""The JSON API, /api/v1: bearer-token auth, read models, and signup for integrations.

Editors read series and issues; operators read subscribers, deliveries and the stats.
Inputs are bounded (slug pattern, id ranges, page sizes) so that nothing a client sends can
reach the database as a value it would choke on: bad input is a 422, never a 500.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.core.db.models import Delivery, Essay, Issue, Series, Subscriber, Subscription
from newsletter.core.db.session import transaction
from newsletter.core.errors import NotFound
from newsletter.delivery import monitor
from newsletter.scheduling.series import get_series
from newsletter.subscribers import service
from newsletter.users.models import Role
from newsletter.web import api_models as m
from newsletter.web.deps.auth import require_api_role

MAX_ID = 2**62
Slug = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$", description="series slug")]
Limit = Annotated[int, Query(ge=1, le=500)]
AfterId = Annotated[int, Query(ge=0, le=MAX_ID, description="return ids greater than this")]
ERRORS = {401: {"description": "missing or invalid token"}, 403: {"description": "wrong role"}}

editor = APIRouter(
    prefix="/api/v1",
    tags=["api:editor"],
    dependencies=[Depends(require_api_role(Role.EDITOR))],
    responses=ERRORS,
)
operator = APIRouter(
    prefix="/api/v1",
    tags=["api:operator"],
    dependencies=[Depends(require_api_role(Role.OPERATOR))],
    responses=ERRORS,
)
router = APIRouter()


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


@editor.get("/series", response_model=list[m.SeriesOut])
def list_series() -> list[m.SeriesOut]:
    with transaction() as session:
        rows = session.scalars(select(Series).order_by(Series.id)).all()
        return [m.SeriesOut.model_validate(row) for row in rows]


@editor.get("/series/{slug}", response_model=m.SeriesDetail, responses={404: {}})
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


@editor.get("/series/{slug}/issues", response_model=list[m.IssueOut], responses={404: {}})
def series_issues(slug: Slug) -> list[m.IssueOut]:
    with transaction() as session:
        series = get_series(session, slug)
        return _issues(session, series.id, series.slug)


@editor.get("/issues/{issue_id}", response_model=m.IssueOut, responses={404: {}})
def show_issue(issue_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> m.IssueOut:
    with transaction() as session:
        issue = session.get(Issue, issue_id)
        if issue is None:
            raise NotFound(f"no issue with id {issue_id}")
        slug = issue.series.slug
        return next(i for i in _issues(session, issue.series_id, slug) if i.id == issue_id)


SubscriberStatusParam = Literal["pending", "active", "unsubscribed", "bounced", "complained"]
DeliveryStatusParam = Literal[
    "pending", "queued", "sending", "sent", "failed", "bounced", "skipped"
]


@operator.get("/subscribers", response_model=m.SubscriberPage)
def list_subscribers(
    status: SubscriberStatusParam | None = None, limit: Limit = 100, after_id: AfterId = 0
) -> m.SubscriberPage:
    query = select(Subscriber).where(Subscriber.id > after_id).order_by(Subscriber.id)
    if status:
        query = query.where(Subscriber.status == status)
    with transaction() as session:
        rows = session.scalars(query.limit(limit)).all()
        items = [m.SubscriberOut.model_validate(row) for row in rows]
    return m.SubscriberPage(
        items=items, next_after_id=items[-1].id if len(items) == limit else None
    )


@operator.post("/subscribers", response_model=m.SignupOut, status_code=202, responses={422: {}})
def signup(body: m.SignupIn) -> m.SignupOut:
    """Start double opt-in for an address, exactly like the public form (source `api`)."""
    with transaction() as session:
        service.signup(session, body.email, body.name, body.series, source="api")
    return m.SignupOut(status="check_your_inbox")


@operator.get("/deliveries", response_model=m.DeliveryPage)
def list_deliveries(
    status: DeliveryStatusParam | None = None,
    issue_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Limit = 100,
    after_id: AfterId = 0,
) -> m.DeliveryPage:
    query = select(Delivery).where(Delivery.id > after_id).order_by(Delivery.id)
    if status:
        query = query.where(Delivery.status == status)
    if issue_id is not None:
        query = query.where(Delivery.issue_id == issue_id)
    with transaction() as session:
        rows = session.scalars(query.limit(limit)).all()
        items = [m.DeliveryOut.model_validate(row) for row in rows]
    return m.DeliveryPage(items=items, next_after_id=items[-1].id if len(items) == limit else None)


@operator.get("/stats", response_model=m.StatsOut)
def stats() -> m.StatsOut:
    with transaction() as session:
        view = monitor.operator_view(session)
    return m.StatsOut(
        generated_at=view.generated_at,
        paused=view.paused,
        queues=view.queues,
        workers=view.workers,
        deliveries=view.deliveries,
        in_flight=view.in_flight,
        subscribers=view.subscribers,
        sent_last_hour=view.sent_last_hour,
        send_rate=[m.RatePoint(minute=t, sent=n) for t, n in view.send_rate],
        issues=[
            m.IssueProgressOut(
                issue_id=p.issue_id,
                series=p.series_slug,
                number=p.number,
                status=p.status,
                counts=p.counts,
            )
            for p in view.issues
        ],
        failures=[
            m.FailureOut(
                delivery_id=f.delivery_id,
                issue_id=f.issue_id,
                series=f.series_slug,
                number=f.number,
                subscriber_id=f.subscriber_id,
                status=f.status,
                attempts=f.attempts,
                reply=f.reply,
            )
            for f in view.failures
        ],
    )


router.include_router(editor)
router.include_router(operator)
