"""Selecting subscribers for `subscribers list|export|remove` (and the admin console)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from newsletter.core.db.models import Series, Subscriber, SubscriberStatus, Subscription
from newsletter.core.errors import UserError
from newsletter.scheduling.series import get_series

STATUSES = (
    SubscriberStatus.PENDING,
    SubscriberStatus.ACTIVE,
    SubscriberStatus.UNSUBSCRIBED,
    SubscriberStatus.BOUNCED,
    SubscriberStatus.COMPLAINED,
)
FIELDS = ["id", "email", "name", "status", "source", "created_at", "confirmed_at", "series"]


def select_subscribers(
    session: Session, series_slug: str | None = None, status: str | None = None
) -> Select[tuple[Subscriber]]:
    """Subscribers (not erased), optionally only those in a series and/or with a status."""
    query = select(Subscriber).where(Subscriber.email.is_not(None)).order_by(Subscriber.id)
    if status is not None:
        if status not in STATUSES:
            raise UserError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
        query = query.where(Subscriber.status == status)
    if series_slug is not None:
        series = get_series(session, series_slug)
        query = query.where(
            Subscriber.id.in_(
                select(Subscription.subscriber_id).where(Subscription.series_id == series.id)
            )
        )
    return query


def iter_rows(
    session: Session, series_slug: str | None = None, status: str | None = None
) -> Iterator[dict[str, Any]]:
    """Plain dicts (JSON/CSV-ready) for every matching subscriber."""
    slugs = dict(session.execute(select(Series.id, Series.slug)).all())
    query = select_subscribers(session, series_slug, status).options(
        selectinload(Subscriber.subscriptions)
    )
    for sub in session.scalars(query.execution_options(yield_per=1000)):
        yield {
            "id": sub.id,
            "email": sub.email,
            "name": sub.name,
            "status": sub.status,
            "source": sub.source,
            "created_at": sub.created_at.isoformat() + "Z",
            "confirmed_at": sub.confirmed_at.isoformat() + "Z" if sub.confirmed_at else None,
            "series": ";".join(
                f"{slugs[s.series_id]}:{s.status}"
                for s in sorted(sub.subscriptions, key=lambda s: s.series_id)
            ),
        }


def to_csv(rows: Iterator[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def to_json(rows: Iterator[dict[str, Any]]) -> str:
    return json.dumps(list(rows), ensure_ascii=False, indent=2) + "\n"
