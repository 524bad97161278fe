"""When to try a failed send again, and the operator's `retry-failed`.

Retries are rows, not broker ETAs: a transient failure sets `next_attempt_at` and the tick
hands the row out again when it is due, so a broker restart or a long backoff can never
lose or duplicate a retry.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import update
from sqlalchemy.orm import Session

from newsletter.core.db.models import Delivery, DeliveryStatus, utcnow

DELIVERY = Delivery.__table__
MAX_BACKOFF = dt.timedelta(hours=6)


def backoff(attempts: int, base_seconds: float, rng: random.Random | None = None) -> dt.timedelta:
    """Exponential (base·2^(n-1)) with ±50 % jitter, so a throttled batch spreads out
    instead of coming back as one thundering herd; capped at six hours."""
    exponent = max(attempts - 1, 0)
    seconds = min(base_seconds * 2**exponent, MAX_BACKOFF.total_seconds())
    return dt.timedelta(seconds=seconds * (rng or random).uniform(0.5, 1.5))


def retry_failed(
    session: Session, issue_id: int | None = None, now: dt.datetime | None = None
) -> int:
    """Put `failed` deliveries back to `pending` with fresh attempts; returns how many.

    Only `failed` rows are touched: a `sent` row is never re-queued (no duplicates), and
    `bounced`/`skipped` rows stay as they are because their subscriber must not get mail.
    The send task re-checks the subscriber's status anyway before sending.
    """
    stmt = (
        update(DELIVERY)
        .where(DELIVERY.c.status == DeliveryStatus.FAILED)
        .values(
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now or utcnow(),
            lease_until=None,
        )
    )
    if issue_id is not None:
        stmt = stmt.where(DELIVERY.c.issue_id == issue_id)
    return session.execute(stmt).rowcount
