"""/api/v1 for operators: the subscriber list, and signup for integrations."""

from __future__ import annotations

from typing import Literal

from newsletter.core.db.session import transaction
from newsletter.subscribers import queries, service
from newsletter.web.api import models as m
from newsletter.web.api.params import AfterId, Limit, operator_router
from newsletter.web.audit import exports

router = operator_router()

SubscriberStatusParam = Literal["pending", "active", "unsubscribed", "bounced", "complained"]


@router.get("/subscribers", response_model=m.SubscriberPage)
@exports  # addresses leave the system: the audit trail says who took them
def list_subscribers(
    status: SubscriberStatusParam | None = None, limit: Limit = 100, after_id: AfterId = 0
) -> m.SubscriberPage:
    with transaction() as session:
        rows = queries.subscriber_page(session, status, after_id, limit)
        items = [m.SubscriberOut.model_validate(row) for row in rows]
    return m.SubscriberPage(
        items=items, next_after_id=items[-1].id if len(items) == limit else None
    )


@router.post("/subscribers", response_model=m.SignupOut, status_code=202, responses={422: {}})
def signup(body: m.SignupIn) -> m.SignupOut:
    """Start double opt-in for an address, exactly like the public form (source `api`)."""
    with transaction() as session:
        service.signup(session, body.email, body.name, body.series, source="api")
    return m.SignupOut(status="check_your_inbox")
