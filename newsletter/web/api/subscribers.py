"""/api/v1 for operators: the subscriber list, one subscriber, and signup for integrations.

Signup answers the same whatever the address's state (no id, no outcome), exactly like the
public form; an integration finds the person afterwards in the list, by id. Changing one
person is limited to what they could do themselves without new consent: unsubscribe (PATCH)
and erasure (DELETE). Re-activating someone needs their confirmation, so the API cannot.
"""

from __future__ import annotations

from typing import Literal

from newsletter.core.db.session import transaction
from newsletter.core.errors import NotFound
from newsletter.subscribers import queries, service
from newsletter.subscribers.progress import reader_progress
from newsletter.web.api import models as m
from newsletter.web.api.params import (
    BODY_ERRORS,
    AfterId,
    Limit,
    SubscriberId,
    not_found,
    operator_router,
)
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


@router.get(
    "/subscribers/{subscriber_id}",
    response_model=m.SubscriberDetail,
    responses=not_found("no such subscriber, or erased"),
)
def show_subscriber(subscriber_id: SubscriberId) -> m.SubscriberDetail:
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


@router.post(
    "/subscribers",
    response_model=m.SignupOut,
    status_code=202,
    responses={**BODY_ERRORS, **not_found("no such series"), 409: m.error("the series has ended")},
)
def signup(body: m.SignupIn) -> m.SignupOut:
    """Start double opt-in for an address, exactly like the public form (source `api`)."""
    with transaction() as session:
        service.signup(session, body.email, body.name, body.series, source="api")
    return m.SignupOut(status="check_your_inbox")


def _present(subscriber_id: int) -> m.SubscriberOut:
    with transaction() as session:
        subscriber = queries.present_subscriber(session, subscriber_id)
        if subscriber is None:
            raise NotFound(f"no subscriber with id {subscriber_id}")
        return m.SubscriberOut.model_validate(subscriber)


@router.patch(
    "/subscribers/{subscriber_id}",
    response_model=m.SubscriberOut,
    responses={**BODY_ERRORS, **not_found("no such subscriber, or erased")},
)
def change_subscriber(subscriber_id: SubscriberId, body: m.SubscriberPatch) -> m.SubscriberOut:
    """Unsubscribe the person from every series; doing it twice changes nothing."""
    with transaction() as session:
        service.unsubscribe_subscriber(session, subscriber_id, via="api")
    return _present(subscriber_id)


@router.delete(
    "/subscribers/{subscriber_id}",
    response_model=m.ErasedOut,
    responses=not_found("no such subscriber, or already erased"),
)
def erase_subscriber(subscriber_id: SubscriberId) -> m.ErasedOut:
    """Erase the person's data (as `newsletter subscribers erase`); their deliveries stay,
    anonymous, so the figures still add up."""
    with transaction() as session:
        kept = service.erase(session, subscriber_id)
    return m.ErasedOut(id=subscriber_id, deliveries_kept=kept)
