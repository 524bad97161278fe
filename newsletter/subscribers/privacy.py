"""Data-subject rights: export everything held on a person, and erase it.

Erasure anonymises the subscriber row in place (address, key and name gone, `erased_at`
set) and deletes its subscriptions. The row itself stays so that its id is never handed
to someone else: SQLite reuses the highest rowid after a DELETE, and an old never-expiring
unsubscribe link must not act on a stranger. Deliveries keep pointing at the anonymous row,
so per-issue counts survive; their error texts (which may quote the address) are cleared,
and events keep their kind and time but lose their data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from newsletter.core.db import models
from newsletter.core.db.models import Delivery, Event, Issue, Series, Subscriber, SubscriberStatus
from newsletter.core.errors import NotFound
from newsletter.core.events import record


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def _get(session: Session, subscriber_id: int) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.erased_at is not None:
        raise NotFound(f"no subscriber with id {subscriber_id}")
    return subscriber


def export(session: Session, subscriber_id: int) -> dict[str, Any]:
    """All data held on one person, JSON-serialisable (times are ISO 8601 UTC)."""
    s = _get(session, subscriber_id)
    subscriptions = [
        {
            "series": sub.series.slug,
            "series_title": sub.series.title,
            "status": sub.status,
            "subscribed_at": _iso(sub.created_at),
            "next_part": sub.next_part,
            "next_due_at": _iso(sub.next_due_at),
        }
        for sub in s.subscriptions
    ]
    events = session.execute(
        select(Event.kind, Event.created_at, Event.data, Series.slug)
        .outerjoin(Series, Series.id == Event.series_id)
        .where(Event.subscriber_id == s.id)
        .order_by(Event.id)
    )
    deliveries = session.execute(
        select(Series.slug, Issue.number, Delivery.status, Delivery.sent_at, Delivery.attempts)
        .join(Issue, Issue.id == Delivery.issue_id)
        .join(Series, Series.id == Issue.series_id)
        .where(Delivery.subscriber_id == s.id)
        .order_by(Series.slug, Issue.number)
    )
    return {
        "subscriber": {
            "id": s.id,
            "email": s.email,
            "name": s.name,
            "status": s.status,
            "source": s.source,
            "created_at": _iso(s.created_at),
            "confirmed_at": _iso(s.confirmed_at),
            "unsubscribed_at": _iso(s.unsubscribed_at),
            "confirmation_sent_at": _iso(s.confirmation_sent_at),
        },
        "subscriptions": subscriptions,
        "events": [
            {"kind": kind, "at": _iso(at), "series": slug, "data": data}
            for kind, at, data, slug in events
        ],
        "deliveries": [
            {"series": slug, "part": n, "status": st, "sent_at": _iso(at), "attempts": att}
            for slug, n, st, at, att in deliveries
        ],
    }


def erase(session: Session, subscriber_id: int) -> int:
    """Remove a person's data; returns how many (now anonymous) deliveries were kept."""
    s = _get(session, subscriber_id)
    kept = session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.subscriber_id == s.id)
    )
    session.execute(update(Delivery).where(Delivery.subscriber_id == s.id).values(last_error=None))
    session.execute(update(Event).where(Event.subscriber_id == s.id).values(data={}))
    for sub in list(s.subscriptions):
        session.delete(sub)
    s.email = s.email_key = None
    s.name = ""
    s.status = SubscriberStatus.UNSUBSCRIBED
    s.confirmed_at = s.unsubscribed_at = s.confirmation_sent_at = None
    s.erased_at = models.utcnow()
    session.flush()
    record(session, "erased", None, None, deliveries_kept=int(kept or 0))
    return int(kept or 0)
