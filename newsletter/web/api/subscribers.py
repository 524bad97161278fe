"""/api/v1 for operators: the subscriber list, and signup for integrations."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path

from newsletter.core.db.session import transaction
from newsletter.core.errors import NotFound
from newsletter.subscribers import queries, service
from newsletter.subscribers.progress import reader_progress
from newsletter.web.api import models as m
from newsletter.web.api.params import MAX_ID, AfterId, Limit, operator_router
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


@router.get("/subscribers/{subscriber_id}", response_model=m.SubscriberDetail, responses={404: {}})
def show_subscriber(subscriber_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> m.SubscriberDetail:
    """One subscriber and each subscription's progress: mode, parts delivered, the next
    part and when it is due (UTC and the reader's zone), and any pause. 404 for an unknown
    or erased id."""
    with transaction() as session:
        person = queries.present_subscriber(session, subscriber_id)
        if person is None:
            raise NotFound(f"no subscriber with id {subscriber_id}")
        progress = reader_progress(session, subscriber_id)
        return m.SubscriberDetail(
            **m.SubscriberOut.model_validate(person).model_dump(),
            timezone=person.timezone,
            subscriptions=[
                m.SubscriptionProgressOut.model_validate(
                    {**p.to_dict(), "next_due_local": p.next_due_local}
                )
                for p in progress
            ],
        )


@router.post("/subscribers", response_model=m.SignupOut, status_code=202, responses={422: {}})
def signup(body: m.SignupIn) -> m.SignupOut:
    """Start double opt-in for an address, exactly like the public form (source `api`)."""
    with transaction() as session:
        service.signup(session, body.email, body.name, body.series, source="api")
    return m.SignupOut(status="check_your_inbox")
