"""Suppression: addresses that bounced or complained are never mailed again.

The delivery feature calls `mark_bounced` when an SMTP server says the mailbox is unknown,
and the confirmation mail does the same; they call in, never the other way round.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from newsletter.core.db.models import Subscriber, SubscriberStatus, SubscriptionStatus
from newsletter.core.errors import NotFound
from newsletter.core.events import record
from newsletter.subscribers.lifecycle import ChangeResult

log = logging.getLogger(__name__)


def _get(session: Session, subscriber_id: int) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFound(f"no subscriber with id {subscriber_id}")
    return subscriber


def _suppress(session: Session, subscriber_id: int, status: str, reason: str) -> ChangeResult:
    subscriber = _get(session, subscriber_id)
    if subscriber.erased_at is not None:
        return ChangeResult(subscriber.id, None, False)  # nothing left to suppress
    if subscriber.status == status or subscriber.status == SubscriberStatus.COMPLAINED:
        return ChangeResult(subscriber.id, None, False)  # complaint outranks a bounce
    subscriber.status = status
    for sub in subscriber.subscriptions:
        if sub.status in SubscriptionStatus.LIVE:
            sub.status = SubscriptionStatus.STOPPED
    record(session, status, subscriber.id, None, reason=(reason or "")[:500])
    log.info("subscriber %s suppressed: %s", subscriber.id, status)
    return ChangeResult(subscriber.id, None, True)


def mark_bounced(session: Session, subscriber_id: int, reason: str = "") -> ChangeResult:
    """A permanent bounce: never mail this address again."""
    return _suppress(session, subscriber_id, SubscriberStatus.BOUNCED, reason)


def mark_complained(session: Session, subscriber_id: int, reason: str = "") -> ChangeResult:
    """A spam complaint (feedback loop): never mail this address again."""
    return _suppress(session, subscriber_id, SubscriberStatus.COMPLAINED, reason)
