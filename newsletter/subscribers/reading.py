"""A serial reader's own controls: start again, their time zone, and where they are.

The links in every serial mail and the manage page lead here (pause and resume are in
`changes`, "next part now" in `delivery.fanout.release_next`, since it writes the ledger).
Each change is a conditional UPDATE on the state the reader's page showed, so a second
press or a second tab changes nothing. Services take a Session and never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from newsletter.core.db import models
from newsletter.core.db.models import Issue, Subscriber, Subscription, SubscriptionStatus
from newsletter.core.errors import Conflict, NotFound, UserError
from newsletter.core.events import record
from newsletter.scheduling.cadence import to_local, to_utc
from newsletter.scheduling.series import plan_of
from newsletter.scheduling.slots import first_due, local_label, next_slot, valid_zone

# Subscriptions a reader may start again: any they still hold (not left, not stopped).
RESTARTABLE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED, SubscriptionStatus.FINISHED)


@dataclass(frozen=True)
class ReaderView:
    """Where one reader is in one series, for the control pages and the manage page."""

    series_id: int
    title: str
    serial: bool
    status: str
    round: int
    next_part: int
    total: int
    next_due_at: dt.datetime | None  # naive UTC
    zone: str
    paused_until: dt.datetime | None

    @property
    def delivered(self) -> int:
        """Parts of this round already released (a finished reader has them all)."""
        return self.total if self.status == SubscriptionStatus.FINISHED else self.next_part - 1

    @property
    def can_next(self) -> bool:
        active = self.status == SubscriptionStatus.ACTIVE
        return self.serial and active and self.next_part <= self.total

    @property
    def next_label(self) -> str | None:
        """'Tue 1 Dec, 09:00' in the reader's zone, or None when nothing is scheduled."""
        if self.next_due_at is None or self.status != SubscriptionStatus.ACTIVE:
            return None
        return local_label(self.next_due_at, self.zone)

    @property
    def progress(self) -> str:
        """'2 of 4 parts received · part 3 arrives Tue 1 Dec, 09:00 (Europe/Berlin)'."""
        head = f"{self.delivered} of {self.total} parts received"
        if self.status == SubscriptionStatus.FINISHED or self.next_part > self.total:
            return f"{head} · that is the whole series"
        if self.status == SubscriptionStatus.PAUSED:
            until = (
                f" until {local_label(self.paused_until, self.zone)}" if self.paused_until else ""
            )
            return f"{head} · paused{until}"
        if self.next_label is None:
            return f"{head} · part {self.next_part} comes with the next issue"
        return f"{head} · part {self.next_part} arrives {self.next_label} ({self.zone})"


def _subscription(session: Session, subscriber_id: int, series_id: int) -> Subscription:
    sub = session.scalar(
        select(Subscription).where(
            Subscription.subscriber_id == subscriber_id, Subscription.series_id == series_id
        )
    )
    if sub is None or sub.subscriber.erased_at is not None:
        raise NotFound("there is no such subscription any more")
    return sub


def reader_view(session: Session, subscriber_id: int, series_id: int) -> ReaderView:
    """Where this reader is in this series (NotFound when the subscription is gone)."""
    sub = _subscription(session, subscriber_id, series_id)
    return _view(session, sub)


def reader_views(session: Session, subscriber_id: int) -> dict[int, ReaderView]:
    """Every subscription of a person by series id (the manage page's progress lines)."""
    subs = session.scalars(
        select(Subscription).where(Subscription.subscriber_id == subscriber_id)
    ).all()
    return {sub.series_id: _view(session, sub) for sub in subs}


def _view(session: Session, sub: Subscription) -> ReaderView:
    total = session.scalar(select(func.count(Issue.id)).where(Issue.series_id == sub.series_id))
    series = sub.series
    return ReaderView(
        series_id=series.id,
        title=series.title,
        serial=series.mode == "serial",
        status=sub.status,
        round=sub.round,
        next_part=sub.next_part,
        total=total or 0,
        next_due_at=sub.next_due_at,
        zone=sub.subscriber.timezone or series.timezone,
        paused_until=sub.paused_until,
    )


def restart(session: Session, subscriber_id: int, series_id: int, round_: int) -> bool:
    """Start a serial series again from part 1, as round `round_ + 1`; True if it did.

    The earlier round's deliveries stay in the ledger; part 1 of the new round is due as
    for a new reader (at once, or at the next slot). `round_` is the round the reader's
    page showed: a second press finds the round moved on and changes nothing.
    """
    sub = _subscription(session, subscriber_id, series_id)
    if sub.series.mode != "serial":
        raise Conflict("only a serial series can be started again")
    if sub.status not in RESTARTABLE:
        raise Conflict(f"this subscription is {sub.status}; sign up again to read it")
    now = models.utcnow()
    plan = plan_of(session, sub.series)
    due = first_due(plan, sub.subscriber.timezone, now)
    moved = session.execute(
        update(Subscription)
        .where(
            Subscription.id == sub.id,
            Subscription.round == round_,
            Subscription.status.in_(RESTARTABLE),
        )
        .values(
            round=Subscription.round + 1,
            next_part=1,
            status=SubscriptionStatus.ACTIVE,
            paused_until=None,
            next_due_at=due,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.expire(sub)
    if moved:
        record(session, "restarted", subscriber_id, series_id, occurred_at=now, round=round_ + 1)
    return moved == 1


def set_timezone(session: Session, subscriber_id: int, name: str | None) -> str | None:
    """Set (or with an empty name clear) a reader's own zone; their next parts move to
    the same local time on the same local date in the new zone (or the next slot, if that
    is already past). Returns the zone stored; UserError for an unknown name."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.erased_at is not None:
        raise NotFound("there is no such subscriber any more")
    wanted = valid_zone(name)
    if (name or "").strip() and wanted is None:
        raise UserError(f"unknown time zone {name!r}; use a name like Europe/Berlin")
    if wanted == subscriber.timezone:
        return wanted
    now = models.utcnow()
    for sub in subscriber.subscriptions:
        if sub.next_due_at is None or sub.status not in SubscriptionStatus.LIVE:
            continue
        plan = plan_of(session, sub.series)
        old, new = plan.reader_zone(subscriber.timezone), plan.reader_zone(wanted)
        day = to_local(sub.next_due_at, old).date()
        due = to_utc(dt.datetime.combine(day, plan.slot), new)
        sub.next_due_at = due if due > now else next_slot(plan, new, now)
    subscriber.timezone = wanted
    record(session, "timezone_changed", subscriber_id, occurred_at=now)
    return wanted
