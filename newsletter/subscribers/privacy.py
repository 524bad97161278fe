"""Data-subject rights: export everything held on a person, and erase it.

Erasure deletes the subscriber row. Deliveries reference it with ON DELETE SET NULL, so the
per-issue delivery counts survive anonymised; their error texts (which may quote the
address) are cleared first. Events keep their kind and time but lose their link and data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from newsletter.db.models import Delivery, Event, Issue, Series, Subscriber
from newsletter.errors import NotFound
from newsletter.subscribers.events import record


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def _get(session: Session, subscriber_id: int) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
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
    session.execute(
        update(Event).where(Event.subscriber_id == s.id).values(data={}, subscriber_id=None)
    )
    session.execute(
        update(Delivery).where(Delivery.subscriber_id == s.id).values(subscriber_id=None)
    )
    session.delete(s)
    session.flush()
    record(session, "erased", None, None, deliveries_kept=int(kept or 0))
    return int(kept or 0)
