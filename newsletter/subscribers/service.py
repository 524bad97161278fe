"""The subscriber lifecycle: the one place that changes who receives mail.

The web pages, the API and the CLI all call these functions. They take the caller's
`Session` first and never commit, so a request or command is one unit of work; mail goes
out only after that unit commits (`after_commit`). Every state change appends an `Event`.

Statuses: a Subscriber is pending → active → unsubscribed, or is suppressed as bounced /
complained; each Subscription (person × series) is pending → active ⇄ paused → unsubscribed
/ stopped / finished. Double opt-in is per series: joining a second series needs its own
confirmation even for an active address.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.core.db import models
from newsletter.core.db.models import (
    Series,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from newsletter.core.errors import Conflict, InvalidToken, NotFound
from newsletter.core.events import record
from newsletter.core.tokens import read_token
from newsletter.subscribers.addresses import clean_name, normalise_email
from newsletter.subscribers.lifecycle import SUPPRESSED, ChangeResult
from newsletter.subscribers.privacy import erase, export
from newsletter.subscribers.queries import SeriesRef, series_ref
from newsletter.subscribers.signup import SignupResult, signup

__all__ = [
    "SignupResult",
    "add_subscriber",
    "confirm",
    "erase",
    "export",
    "pause_subscription",
    "resume_subscription",
    "signup",
    "unsubscribe",
    "unsubscribe_subscriber",
]

log = logging.getLogger(__name__)


def _get(session: Session, subscriber_id: int) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFound(f"no subscriber with id {subscriber_id}")
    return subscriber


def _subscription(session: Session, subscriber_id: int, series_id: int) -> Subscription | None:
    return session.scalar(
        select(Subscription).where(
            Subscription.subscriber_id == subscriber_id, Subscription.series_id == series_id
        )
    )


def _open_subscription(
    session: Session, subscriber: Subscriber, series: Series | SeriesRef, status: str
) -> Subscription:
    """Create or re-open the subscription to `series` in `status` (pending or active)."""
    now = models.utcnow()
    sub = _subscription(session, subscriber.id, series.id)
    if sub is None:
        sub = Subscription(subscriber_id=subscriber.id, series_id=series.id, created_at=now)
        session.add(sub)
    sub.status = status
    if status == SubscriptionStatus.ACTIVE:
        _activate_progress(sub, series, now)
    session.flush()
    return sub


def _activate_progress(sub: Subscription, series: Series | SeriesRef, now: dt.datetime) -> None:
    # Serial mode: the next part is due now, so part 1 goes out at the next tick.
    if series.mode == "serial" and (sub.next_due_at is None or sub.next_due_at < now):
        sub.next_due_at = now


def add_subscriber(
    session: Session,
    email: str,
    name: str | None,
    series_slug: str,
    confirmed: bool = False,
    source: str = "cli",
) -> SignupResult:
    """Operator add: like `signup`, or straight to active without mail when `confirmed`.

    Even an operator cannot silently re-add someone who unsubscribed or complained: consent
    they withdrew must be given again by them.
    """
    if not confirmed:
        return signup(session, email, name, series_slug, source=source)
    address = normalise_email(email)
    name = clean_name(name)
    series = series_ref(session, series_slug)
    subscriber = session.scalar(select(Subscriber).where(Subscriber.email_key == address.key))
    now = models.utcnow()
    if subscriber is None:
        subscriber = Subscriber(
            email=address.email, email_key=address.key, name=name, source=source, created_at=now
        )
        session.add(subscriber)
    elif subscriber.status in (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.COMPLAINED):
        raise Conflict(f"subscriber {subscriber.id} is {subscriber.status}; they must sign up")
    else:
        sub = _subscription(session, subscriber.id, series.id)
        if (
            subscriber.status == SubscriberStatus.ACTIVE
            and sub
            and sub.status != SubscriptionStatus.PENDING
        ):
            return SignupResult(subscriber.id, series.id, "already_active")
        subscriber.name = name or subscriber.name
    subscriber.status = SubscriberStatus.ACTIVE
    subscriber.confirmed_at = subscriber.confirmed_at or now
    session.flush()
    _open_subscription(session, subscriber, series, SubscriptionStatus.ACTIVE)
    record(session, "added", subscriber.id, series.id, source=source, confirmed=True)
    return SignupResult(subscriber.id, series.id, "added")


def confirm(session: Session, token: str) -> ChangeResult:
    """Double opt-in confirmation: pending → active for the address and the series."""
    data = read_token(token, "confirm")
    subscriber = session.get(Subscriber, data.subscriber_id)
    if subscriber is None or subscriber.erased_at is not None:
        raise InvalidToken("this confirm link is no longer valid; please sign up again")
    if subscriber.status in (*SUPPRESSED, SubscriberStatus.UNSUBSCRIBED):
        # A stale link must not undo a later unsubscribe or a suppression.
        return ChangeResult(subscriber.id, data.series_id, False)
    subs = [
        s
        for s in subscriber.subscriptions
        if data.series_id is None or s.series_id == data.series_id
    ]
    if not subs:
        raise InvalidToken("this confirm link is no longer valid; please sign up again")
    now = models.utcnow()
    changed = False
    if subscriber.status == SubscriberStatus.PENDING:
        subscriber.status = SubscriberStatus.ACTIVE
        subscriber.confirmed_at = now
        changed = True
    for sub in subs:
        if sub.status == SubscriptionStatus.PENDING:
            sub.status = SubscriptionStatus.ACTIVE
            _activate_progress(sub, sub.series, now)
            changed = True
    if changed:
        record(session, "confirmed", subscriber.id, data.series_id)
    return ChangeResult(subscriber.id, data.series_id, changed)


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
    now = models.utcnow()
    changed = False
    for sub in subscriber.subscriptions:
        if (series_id is None or sub.series_id == series_id) and sub.status in (
            SubscriptionStatus.LIVE
        ):
            sub.status = SubscriptionStatus.UNSUBSCRIBED
            changed = True
    still_live = any(s.status in SubscriptionStatus.LIVE for s in subscriber.subscriptions)
    if not still_live and subscriber.status in (SubscriberStatus.PENDING, SubscriberStatus.ACTIVE):
        subscriber.status = SubscriberStatus.UNSUBSCRIBED
        subscriber.unsubscribed_at = now
        changed = True
    if changed:
        record(session, "unsubscribed", subscriber.id, series_id, via=via)
    return ChangeResult(subscriber.id, series_id, changed)


def _subscription_or_404(session: Session, subscriber_id: int, series_id: int) -> Subscription:
    sub = _subscription(session, subscriber_id, series_id)
    if sub is None:
        raise NotFound(f"subscriber {subscriber_id} has no subscription to series {series_id}")
    return sub


def pause_subscription(session: Session, subscriber_id: int, series_id: int) -> ChangeResult:
    """Hold a series for a while (the manage page); serial progress is kept."""
    sub = _subscription_or_404(session, subscriber_id, series_id)
    if sub.status == SubscriptionStatus.PAUSED:
        return ChangeResult(subscriber_id, series_id, False)
    if sub.status != SubscriptionStatus.ACTIVE:
        raise Conflict(f"only an active subscription can be paused (this one is {sub.status})")
    sub.status = SubscriptionStatus.PAUSED
    record(session, "paused", subscriber_id, series_id)
    return ChangeResult(subscriber_id, series_id, True)


def resume_subscription(session: Session, subscriber_id: int, series_id: int) -> ChangeResult:
    """Continue a paused series; in serial mode the next part is due at once if overdue."""
    sub = _subscription_or_404(session, subscriber_id, series_id)
    if sub.status == SubscriptionStatus.ACTIVE:
        return ChangeResult(subscriber_id, series_id, False)
    if sub.status != SubscriptionStatus.PAUSED:
        raise Conflict(f"only a paused subscription can be resumed (this one is {sub.status})")
    sub.status = SubscriptionStatus.ACTIVE
    _activate_progress(sub, sub.series, models.utcnow())
    record(session, "resumed", subscriber_id, series_id)
    return ChangeResult(subscriber_id, series_id, True)
