"""Changes to people already subscribed: confirm, unsubscribe, pause and resume.

These run on the ORM (a link click or a manage-page button, never a hot path): each loads
the person and the subscriptions concerned, asks `lifecycle` what the change is, and
applies the answer with `apply`, which `suppression` uses too. They take the caller's
`Session` and never commit, so a request or command is one unit of work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.core.db import models
from newsletter.core.db.models import Subscriber, Subscription
from newsletter.core.errors import NotFound
from newsletter.core.events import record
from newsletter.core.tokens import read_token
from newsletter.scheduling.series import plan_of
from newsletter.scheduling.slots import pause_end
from newsletter.subscribers import lifecycle
from newsletter.subscribers.lifecycle import ChangeResult, Membership, Person, Transition


def person(subscriber: Subscriber) -> Person:
    """The lifecycle's view of a subscriber row."""
    return Person(
        subscriber.id,
        subscriber.status,
        subscriber.name,
        subscriber.confirmed_at,
        subscriber.confirmation_sent_at,
        subscriber.erased_at is not None,
        timezone=subscriber.timezone,
    )


def membership(sub: Subscription, session: Session | None = None) -> Membership:
    """The lifecycle's view of a subscription; with a `session`, the series' plan too (for
    the changes that may make it active or move its next part)."""
    plan = None if session is None else plan_of(session, sub.series)
    return Membership(sub.series_id, sub.status, sub.next_due_at, plan, sub.paused_until)


def apply(
    session: Session,
    change: Transition,
    subscriber_id: int,
    series_id: int | None,
    now: dt.datetime,
    subscriber: Subscriber | None = None,
    subs: Sequence[Subscription] = (),
) -> ChangeResult:
    """Write `change` onto the ORM rows (`subs` in the order decided) and record its event.

    `subscriber` may be left out by a change that never touches the person (pause, resume),
    which saves loading the row.
    """
    if change.subscriber:
        if subscriber is None:
            raise ValueError("this change needs the subscriber row")
        for column, value in change.subscriber.items():
            setattr(subscriber, column, value)
    for sub, columns in zip(subs, change.subscriptions, strict=True):
        for column, value in columns.items():
            setattr(sub, column, value)
    if change.event is not None:
        kind, data = change.event
        record(session, kind, subscriber_id, series_id, occurred_at=now, **data)
    return ChangeResult(subscriber_id, series_id, change.changed)


def _get(session: Session, subscriber_id: int) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFound(f"no subscriber with id {subscriber_id}")
    return subscriber


def confirm(session: Session, token: str) -> ChangeResult:
    """Double opt-in confirmation: pending → active for the address and the series."""
    data = read_token(token, "confirm")
    subscriber = session.get(Subscriber, data.subscriber_id)
    known = None if subscriber is None else person(subscriber)
    subs = [] if subscriber is None else _covered(subscriber, data.series_id)
    now = models.utcnow()
    memberships = [membership(s, session) for s in subs]
    change = lifecycle.confirming(known, memberships, now)  # InvalidToken if gone
    return apply(session, change, data.subscriber_id, data.series_id, now, subscriber, subs)


def _covered(subscriber: Subscriber, series_id: int | None) -> list[Subscription]:
    """The subscriptions a link is for: one series, or all when it names none."""
    return [s for s in subscriber.subscriptions if series_id in (None, s.series_id)]


def unsubscribe(session: Session, token: str) -> ChangeResult:
    """Leave via a link; idempotent, and a link for an erased person is simply done."""
    data = read_token(token, "unsubscribe")
    subscriber = session.get(Subscriber, data.subscriber_id)
    if subscriber is None or subscriber.erased_at is not None:
        return ChangeResult(None, data.series_id, False)
    return unsubscribe_subscriber(session, data.subscriber_id, data.series_id, via="link")


def unsubscribe_subscriber(
    session: Session, subscriber_id: int, series_id: int | None = None, via: str = "cli"
) -> ChangeResult:
    """Stop one series (or all); the address is unsubscribed once nothing live remains."""
    subscriber = _get(session, subscriber_id)
    subs = list(subscriber.subscriptions)
    now = models.utcnow()
    change = lifecycle.unsubscribing(
        person(subscriber), [membership(s) for s in subs], series_id, via, now
    )
    return apply(session, change, subscriber.id, series_id, now, subscriber, subs)


def _subscription(session: Session, subscriber_id: int, series_id: int) -> Subscription:
    sub = session.scalar(
        select(Subscription).where(
            Subscription.subscriber_id == subscriber_id, Subscription.series_id == series_id
        )
    )
    if sub is None:
        raise NotFound(f"subscriber {subscriber_id} has no subscription to series {series_id}")
    return sub


def pause_subscription(
    session: Session, subscriber_id: int, series_id: int, weeks: int | None = None
) -> ChangeResult:
    """Hold a series for `weeks` weeks, or until resumed (None); progress is kept."""
    sub = _subscription(session, subscriber_id, series_id)
    now = models.utcnow()
    until = pause_end(weeks, now)
    zone = sub.subscriber.timezone
    change = lifecycle.pausing(membership(sub, session), until, zone)
    return apply(session, change, subscriber_id, series_id, now, subs=[sub])


def resume_subscription(session: Session, subscriber_id: int, series_id: int) -> ChangeResult:
    """Continue a paused series; in serial mode the next part is due at once if overdue."""
    sub = _subscription(session, subscriber_id, series_id)
    now = models.utcnow()
    change = lifecycle.resuming(membership(sub, session), now)
    return apply(session, change, subscriber_id, series_id, now, subs=[sub])
