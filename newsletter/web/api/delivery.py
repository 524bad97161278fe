"""/api/v1 for operators: the delivery ledger and the operator view's figures."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

from newsletter.core.db.session import transaction
from newsletter.delivery import monitor, queries
from newsletter.web.api import models as m
from newsletter.web.api.params import MAX_ID, AfterId, Limit, operator_router

router = operator_router()

DeliveryStatusParam = Literal[
    "pending", "queued", "sending", "sent", "failed", "bounced", "skipped"
]


@router.get("/deliveries", response_model=m.DeliveryPage)
def list_deliveries(
    status: DeliveryStatusParam | None = None,
    issue_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Limit = 100,
    after_id: AfterId = 0,
) -> m.DeliveryPage:
    with transaction() as session:
        rows = queries.delivery_page(
            session, after_id=after_id, limit=limit, status=status, issue_id=issue_id
        )
        items = [m.DeliveryOut.model_validate(row) for row in rows]
    return m.DeliveryPage(items=items, next_after_id=items[-1].id if len(items) == limit else None)


@router.get("/stats", response_model=m.StatsOut)
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
