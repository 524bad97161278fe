"""Read models of serial progress: where each of a reader's subscriptions stands, and how
a serial series' readers spread over its parts.

Read-only, like `queries` (kept apart to keep each module short): `subscribers show`, the
API's subscriber detail and the console's series page read here, so they count the same
rows the same way. Times are naive UTC; the reader's zone is attached for display.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.core.db.models import (
    Delivery,
    DeliveryStatus,
    Issue,
    IssueStatus,
    Series,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.scheduling.cadence import to_local
from newsletter.scheduling.slots import valid_zone


@dataclass(frozen=True, slots=True)
class ReaderProgress:
    """Where one subscription stands, for `subscribers show` and the API.

    `delivered` counts the ledger's sent rows of the subscription's current round, so a
    reader who started again shows their reread, not every part they ever got. `zone` is
    the one their parts are timed in (their own, else the series'); `next_due_at` is naive
    UTC and None when nothing is promised (finished, left, paused until resumed, or a
    broadcast with no part scheduled).
    """

    series: str
    title: str
    mode: str
    status: str
    round: int
    parts: int
    delivered: int
    next_part: int | None
    next_due_at: dt.datetime | None
    zone: str
    paused_until: dt.datetime | None

    @property
    def paused(self) -> bool:
        return self.status == SubscriptionStatus.PAUSED

    @property
    def pause(self) -> str | None:
        """'until <UTC time>' or 'indefinitely' while paused; None otherwise."""
        if not self.paused:
            return None
        if self.paused_until is None:
            return "indefinitely"
        return f"until {self.paused_until:%Y-%m-%d %H:%M} UTC"

    @property
    def next_due_local(self) -> dt.datetime | None:
        """`next_due_at` as the reader's wall clock shows it (aware, in `zone`)."""
        return None if self.next_due_at is None else to_local(self.next_due_at, self.zone)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (ISO 8601 times: UTC with a Z, local with its offset)."""
        local = self.next_due_local
        return {
            "series": self.series,
            "title": self.title,
            "mode": self.mode,
            "status": self.status,
            "round": self.round,
            "parts": self.parts,
            "delivered": self.delivered,
            "next_part": self.next_part,
            "next_due_at": _utc_iso(self.next_due_at),
            "next_due_local": local.isoformat() if local else None,
            "zone": self.zone,
            "paused": self.paused,
            "paused_until": _utc_iso(self.paused_until),
        }


def _utc_iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"


# Subscriptions that may still get a part (pending ones wait for their confirmation).
_WAITING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED)


def reader_progress(session: Session, subscriber_id: int) -> list[ReaderProgress]:
    """Every subscription of one person with its progress, by series id.

    A handful of small indexed reads, whatever the size of the list: the person's
    subscriptions with their series, their sent rows grouped per series and round, the
    part counts, and each broadcast series' next scheduled part.
    """
    subs = session.execute(
        select(Subscription, Series, Subscriber.timezone)
        .join(Series, Series.id == Subscription.series_id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(Subscription.subscriber_id == subscriber_id)
        .order_by(Subscription.series_id)
    ).all()
    if not subs:
        return []
    series_ids = [series.id for _, series, _ in subs]
    sent = dict(
        ((series_id, round_), int(n))
        for series_id, round_, n in session.execute(
            select(Issue.series_id, Delivery.round, func.count())
            .join(Issue, Issue.id == Delivery.issue_id)
            .where(
                Delivery.subscriber_id == subscriber_id,
                Delivery.status == DeliveryStatus.SENT,
            )
            .group_by(Issue.series_id, Delivery.round)
        )
    )
    totals = dict(
        session.execute(
            select(Issue.series_id, func.count())
            .where(Issue.series_id.in_(series_ids))
            .group_by(Issue.series_id)
        ).all()
    )
    upcoming = _next_broadcast(session, series_ids)
    return [
        _progress(sub, series, own_zone, sent, int(totals.get(series.id, 0)), upcoming)
        for sub, series, own_zone in subs
    ]


def _next_broadcast(
    session: Session, series_ids: list[int]
) -> dict[int, list[tuple[int, dt.datetime]]]:
    """Series id → its scheduled broadcast parts (number, UTC time), soonest first."""
    rows = session.execute(
        select(Issue.series_id, Issue.number, Issue.scheduled_at)
        .where(
            Issue.series_id.in_(series_ids),
            Issue.status == IssueStatus.SCHEDULED,
            Issue.scheduled_at.is_not(None),
        )
        .order_by(Issue.scheduled_at, Issue.number)
    )
    found: dict[int, list[tuple[int, dt.datetime]]] = {}
    for series_id, number, at in rows:
        found.setdefault(series_id, []).append((number, at))
    return found


def _progress(
    sub: Subscription,
    series: Series,
    own_zone: str | None,
    sent: dict[tuple[int, int], int],
    total: int,
    upcoming: dict[int, list[tuple[int, dt.datetime]]],
) -> ReaderProgress:
    part, due = _next(sub, series.mode, total, upcoming.get(series.id, []))
    return ReaderProgress(
        series=series.slug,
        title=series.title,
        mode=series.mode,
        status=sub.status,
        round=sub.round,
        parts=total,
        delivered=sent.get((series.id, sub.round), 0),
        next_part=part,
        next_due_at=due,
        zone=valid_zone(own_zone) or series.timezone,
        paused_until=sub.paused_until if sub.status == SubscriptionStatus.PAUSED else None,
    )


def _next(
    sub: Subscription, mode: str, total: int, scheduled: list[tuple[int, dt.datetime]]
) -> tuple[int | None, dt.datetime | None]:
    """(next part, when it is due) as the engine will send it; (None, None) when none will.

    A reader on their own clock (serial, or a broadcast late joiner catching up) has both
    on the subscription. A reader level with a broadcast gets the next scheduled part,
    after a pause for a while has ended. Paused until resumed: the part, but no date.
    """
    if sub.status not in _WAITING:
        return None, None
    indefinite = sub.status == SubscriptionStatus.PAUSED and sub.paused_until is None
    if mode == "serial" or sub.next_due_at is not None:
        if sub.next_part > total:
            return None, None
        return sub.next_part, None if indefinite else sub.next_due_at
    after = sub.paused_until if sub.status == SubscriptionStatus.PAUSED else None
    for number, at in scheduled:
        if after is None or at >= after:
            return number, None if indefinite else at
    return None, None


@dataclass(frozen=True, slots=True)
class Spread:
    """A serial series' readers over its parts: `at[n]` readers whose next part is n."""

    parts: int
    at: dict[int, int]
    finished: int
    paused: int

    @property
    def readers(self) -> int:
        return sum(self.at.values()) + self.finished + self.paused

    def buckets(self) -> list[tuple[str, int]]:
        """(label, readers) in reading order: part 1 … part N, finished, paused."""
        rows = [(f"part {n}", self.at.get(n, 0)) for n in range(1, self.parts + 1)]
        return [*rows, ("finished", self.finished), ("paused", self.paused)]


def reader_spread(session: Session, series_id: int) -> Spread:
    """How many readers wait for each part, have finished, or are paused (one grouped read).

    Active readers past the last part (an added part not yet released to them) count as
    finished; pending, departed and suppressed subscriptions are not readers.
    """
    total = session.scalar(select(func.count()).where(Issue.series_id == series_id)) or 0
    rows = session.execute(
        select(Subscription.status, Subscription.next_part, func.count())
        .where(
            Subscription.series_id == series_id,
            Subscription.status.in_((*_WAITING, SubscriptionStatus.FINISHED)),
        )
        .group_by(Subscription.status, Subscription.next_part)
    )
    at: dict[int, int] = {}
    finished = paused = 0
    for status, part, n in rows:
        if status == SubscriptionStatus.PAUSED:
            paused += int(n)
        elif status == SubscriptionStatus.FINISHED or part > total:
            finished += int(n)
        else:
            at[part] = at.get(part, 0) + int(n)
    return Spread(int(total), at, finished, paused)
