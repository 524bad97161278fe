"""Suppression: addresses that bounced or complained are never mailed again.

The delivery feature calls `mark_bounced` when an SMTP server says the mailbox is unknown,
and the confirmation mail does the same; they call in, never the other way round. The rule
(which statuses win, which subscriptions stop) is `lifecycle.suppressing`.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from newsletter.core.db import models
from newsletter.core.db.models import Subscriber, SubscriberStatus
from newsletter.core.errors import NotFound
from newsletter.subscribers import lifecycle
from newsletter.subscribers.changes import apply, membership, person
from newsletter.subscribers.lifecycle import ChangeResult

log = logging.getLogger(__name__)


def _suppress(session: Session, subscriber_id: int, status: str, reason: str) -> ChangeResult:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFound(f"no subscriber with id {subscriber_id}")
    subs = list(subscriber.subscriptions)
    change = lifecycle.suppressing(
        person(subscriber), [membership(s) for s in subs], status, reason
    )
    result = apply(session, change, subscriber.id, None, models.utcnow(), subscriber, subs)
    if result.changed:
        log.info("subscriber %s suppressed: %s", subscriber.id, status)
    return result


def mark_bounced(session: Session, subscriber_id: int, reason: str = "") -> ChangeResult:
    """A permanent bounce: never mail this address again."""
    return _suppress(session, subscriber_id, SubscriberStatus.BOUNCED, reason)


def mark_complained(session: Session, subscriber_id: int, reason: str = "") -> ChangeResult:
    """A spam complaint (feedback loop): never mail this address again."""
    return _suppress(session, subscriber_id, SubscriberStatus.COMPLAINED, reason)
