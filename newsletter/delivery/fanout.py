"""Turn due work into Delivery rows: broadcast fan-out and serial-mode progress.

Both paths *claim* their work with a conditional UPDATE, so two ticks running at once never
both create the same rows (the ledger's UNIQUE(issue_id, subscriber_id, round) and ON
CONFLICT DO NOTHING are the second line of defence). Services here take a Session and never
commit; `tick` owns the transactions.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import DateTime, Integer, String, func, literal, select, update
from sqlalchemy.orm import Session

from newsletter.core.db import dialect
from newsletter.core.db.dialect import insert_ignoring_conflicts
from newsletter.core.db.models import (
    Delivery,
    DeliveryStatus,
    Issue,
    IssueStatus,
    Series,
    SeriesStatus,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from newsletter.scheduling.series import PLAN_COLUMNS
from newsletter.scheduling.slots import Plan, after_part, following

log = logging.getLogger(__name__)

DELIVERY = Delivery.__table__
ISSUE = Issue.__table__
SUBSCRIPTION = Subscription.__table__
NEW_DELIVERY_COLUMNS = ("issue_id", "subscriber_id", "status", "attempts", "created_at")
LEDGER_KEY = ("issue_id", "subscriber_id", "round")


def due_broadcast_issues(session: Session, now: dt.datetime) -> list[int]:
    """Ids of broadcast issues whose time has come, in active series (index on status)."""
    return list(
        session.scalars(
            select(Issue.id)
            .join(Series, Series.id == Issue.series_id)
            .where(
                Issue.status == IssueStatus.SCHEDULED,
                Issue.scheduled_at <= now,
                Series.status == SeriesStatus.ACTIVE,
            )
            .order_by(Issue.scheduled_at, Issue.id)
        )
    )


def fan_out_issue(session: Session, issue_id: int, now: dt.datetime) -> int | None:
    """Create a pending Delivery for every active subscriber of the issue's series.

    Returns the number of rows created, or None when another tick claimed the issue first.
    One INSERT … SELECT, so 100k subscribers cost one statement, not 100k. Late joiners
    still catching up (a `next_due_at`) are left out: they get this part on their own
    clock, in order.
    """
    claimed = session.execute(
        update(ISSUE)
        .where(ISSUE.c.id == issue_id, ISSUE.c.status == IssueStatus.SCHEDULED)
        .values(status=IssueStatus.SENDING, fanned_out_at=now)
        .returning(ISSUE.c.series_id)
    ).first()
    if claimed is None:
        return None
    recipients = (
        select(
            literal(issue_id, Integer()),
            Subscription.subscriber_id,
            literal(DeliveryStatus.PENDING, String()),
            literal(0, Integer()),
            literal(now, DateTime()),
            literal(now, DateTime()),
            Subscription.round,
        )
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            Subscription.series_id == claimed.series_id,
            Subscription.status == SubscriptionStatus.ACTIVE,
            Subscription.next_due_at.is_(None),
            Subscriber.status == SubscriberStatus.ACTIVE,
        )
    )
    stmt = insert_ignoring_conflicts(session, DELIVERY, *LEDGER_KEY).from_select(
        [*NEW_DELIVERY_COLUMNS, "next_attempt_at", "round"], recipients
    )
    created = session.execute(stmt).rowcount
    log.info("issue %s fanned out: %s deliveries", issue_id, created)
    return created


# -- serial mode ---------------------------------------------------------------------------
#
# A subscription with a `next_due_at` walks the parts on its own clock: every serial reader,
# and a broadcast late joiner catching up. Each tick takes the due ones in chunks; per chunk
# one SELECT (… FOR UPDATE SKIP LOCKED on PostgreSQL), one INSERT … SELECT for the
# deliveries and one conditional UPDATE per group of rows that share their next due time
# (same series, zone, part and due time: 100k readers of one slot are a handful of groups),
# computed once in Python, where the zone rules live.


class Step:
    """What releasing a subscription's due part leaves it as."""

    CONTINUE = "continue"  # more parts to come on its own clock
    FINISH = "finish"  # serial: that was the last part
    LEVEL = "level"  # broadcast: caught up; the broadcast brings the rest


@dataclass(frozen=True, slots=True)
class Due:
    id: int
    subscriber_id: int
    series_id: int
    next_part: int
    next_due_at: dt.datetime
    zone: str


@dataclass
class SerialChunk:
    taken: int = 0  # due subscriptions read (the caller stops below its limit)
    created: int = 0  # deliveries inserted
    finished: int = 0
    levelled: int = 0


Parts = dict[int, dict[int, tuple[int, str]]]  # series id → number → (issue id, status)


def resume_timed_pauses(session: Session, now: dt.datetime) -> int:
    """Pauses for a while whose time is up become active again (one indexed UPDATE).

    The pause set `next_due_at` to the first slot after its end, so nothing else moves.
    """
    return session.execute(
        update(SUBSCRIPTION)
        .where(
            SUBSCRIPTION.c.status == SubscriptionStatus.PAUSED,
            SUBSCRIPTION.c.paused_until <= now,
        )
        .values(status=SubscriptionStatus.ACTIVE, paused_until=None)
    ).rowcount


def _due(session: Session, now: dt.datetime, limit: int) -> list[Due]:
    """Due subscriptions, oldest first (index on status, next_due_at), locked on PostgreSQL
    so a concurrent tick skips them. A finished (broadcast) series still serves catch-up
    readers: that is an evergreen series. A paused series holds everyone."""
    stmt = (
        select(
            SUBSCRIPTION.c.id,
            SUBSCRIPTION.c.subscriber_id,
            SUBSCRIPTION.c.series_id,
            SUBSCRIPTION.c.next_part,
            SUBSCRIPTION.c.next_due_at,
            func.coalesce(Subscriber.timezone, Series.timezone),
        )
        .join(Series, Series.id == SUBSCRIPTION.c.series_id)
        .join(Subscriber, Subscriber.id == SUBSCRIPTION.c.subscriber_id)
        .where(
            SUBSCRIPTION.c.status == SubscriptionStatus.ACTIVE,
            SUBSCRIPTION.c.next_due_at <= now,
            Series.status.in_((SeriesStatus.ACTIVE, SeriesStatus.FINISHED)),
            Subscriber.status == SubscriberStatus.ACTIVE,
        )
        # The index's own order (status, next_due_at): a tie-break on id would make
        # PostgreSQL sort every due reader again for each chunk (100k readers due in one
        # slot: ~0.2 s a chunk). Among readers due at the same minute any order is fair.
        .order_by(SUBSCRIPTION.c.next_due_at)
        .limit(limit)
    )
    if dialect.is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True, of=SUBSCRIPTION)
    return [Due(*row) for row in session.execute(stmt)]


def _parts(session: Session, series_ids: set[int]) -> Parts:
    parts: Parts = {}
    rows = session.execute(
        select(Issue.series_id, Issue.number, Issue.id, Issue.status).where(
            Issue.series_id.in_(series_ids)
        )
    )
    for series_id, number, issue_id, status in rows:
        parts.setdefault(series_id, {})[number] = (issue_id, status)
    return parts


def _plans(session: Session, series_ids: set[int]) -> dict[int, Plan]:
    rows = session.execute(select(Series.id, *PLAN_COLUMNS).where(Series.id.in_(series_ids)))
    return {row[0]: Plan(*row[1:]) for row in rows}


def _releasable(part: tuple[int, str] | None) -> bool:
    """A part a reader may get on their own clock: serial, or a broadcast part already out."""
    return part is not None and part[1] != IssueStatus.SCHEDULED


def _after(plan: Plan, parts: dict[int, tuple[int, str]], number: int) -> str:
    """The step after part `number` went out (or could not): what comes next?"""
    following = parts.get(number + 1)
    if following is None:
        return Step.FINISH if plan.serial else Step.LEVEL
    return Step.CONTINUE if _releasable(following) else Step.LEVEL


def _progress(step: str, due: dt.datetime | None) -> dict[str, object]:
    if step == Step.FINISH:
        return {"status": SubscriptionStatus.FINISHED, "next_due_at": None}
    return {"next_due_at": due if step == Step.CONTINUE else None}


def _insert_deliveries(session: Session, ids: list[int], now: dt.datetime) -> int:
    """One INSERT … SELECT: each subscription's next part, in its round, if still due."""
    if not ids:
        return 0
    rows = (
        select(
            ISSUE.c.id,
            SUBSCRIPTION.c.subscriber_id,
            SUBSCRIPTION.c.round,
            literal(DeliveryStatus.PENDING, String()),
            literal(0, Integer()),
            literal(now, DateTime()),
            literal(now, DateTime()),
        )
        .join(
            ISSUE,
            (ISSUE.c.series_id == SUBSCRIPTION.c.series_id)
            & (ISSUE.c.number == SUBSCRIPTION.c.next_part),
        )
        .where(
            dialect.ids_in(session, SUBSCRIPTION.c.id, ids),
            SUBSCRIPTION.c.status == SubscriptionStatus.ACTIVE,
            SUBSCRIPTION.c.next_due_at <= now,
        )
    )
    stmt = insert_ignoring_conflicts(session, DELIVERY, *LEDGER_KEY).from_select(
        [
            "issue_id",
            "subscriber_id",
            "round",
            "status",
            "attempts",
            "created_at",
            "next_attempt_at",
        ],
        rows,
    )
    return session.execute(stmt).rowcount


def advance_serial(session: Session, now: dt.datetime, limit: int) -> SerialChunk:
    """Release up to `limit` due parts as deliveries and move each reader's progress on.

    The UPDATE of each group repeats the state it was read in (part, due time, active): the
    compare-and-set that makes a second tick that read the same rows change nothing, and
    the INSERT re-checks the due time and the ledger's key ignores a duplicate, so a part
    is released once per round however many ticks run.
    """
    chunk = SerialChunk()
    due = _due(session, now, limit)
    chunk.taken = len(due)
    if not due:
        return chunk
    series_ids = {d.series_id for d in due}
    parts, plans = _parts(session, series_ids), _plans(session, series_ids)
    send: list[int] = []
    groups: dict[tuple[int, str, int, dt.datetime, bool, str], list[int]] = defaultdict(list)
    for d in due:
        plan, own = plans[d.series_id], parts.get(d.series_id, {})
        if _releasable(own.get(d.next_part)):
            send.append(d.id)
            step, sent = _after(plan, own, d.next_part), True
        else:  # nothing of theirs to send: level with the broadcast, or past the end
            step, sent = _after(plan, own, d.next_part - 1), False
            step = Step.LEVEL if step == Step.CONTINUE else step
        groups[(d.series_id, d.zone, d.next_part, d.next_due_at, sent, step)].append(d.id)
    chunk.created = _insert_deliveries(session, send, now)
    for (series_id, zone, part, was_due, sent, step), ids in groups.items():
        values = _progress(step, after_part(plans[series_id], zone, was_due, now))
        moved = session.execute(
            update(SUBSCRIPTION)
            .where(
                dialect.ids_in(session, SUBSCRIPTION.c.id, ids),
                SUBSCRIPTION.c.status == SubscriptionStatus.ACTIVE,
                SUBSCRIPTION.c.next_part == part,
                SUBSCRIPTION.c.next_due_at == was_due,
            )
            .values(next_part=SUBSCRIPTION.c.next_part + (1 if sent else 0), **values)
        ).rowcount
        if step == Step.FINISH:
            chunk.finished += moved
        elif step == Step.LEVEL:
            chunk.levelled += moved
    return chunk


def release_next(
    session: Session, subscriber_id: int, series_id: int, part: int, now: dt.datetime
) -> bool:
    """ "Next part now": release part `part` of this reader's round at once; True if it was.

    `part` is the part the reader's page offered, so a second press, or a second tab
    posting at the same time, finds the progress already moved and releases nothing: the
    conditional UPDATE is the claim (PostgreSQL re-checks it after the first commits), and
    the ledger's (issue, subscriber, round) key would refuse a duplicate row anyway. The
    parts after it follow the cadence from now. The delivery is pending at once, so the
    next tick hands it out.
    """
    row = session.execute(
        select(
            SUBSCRIPTION.c.id,
            SUBSCRIPTION.c.round,
            func.coalesce(Subscriber.timezone, Series.timezone),
        )
        .join(Series, Series.id == SUBSCRIPTION.c.series_id)
        .join(Subscriber, Subscriber.id == SUBSCRIPTION.c.subscriber_id)
        .where(
            SUBSCRIPTION.c.subscriber_id == subscriber_id,
            SUBSCRIPTION.c.series_id == series_id,
            SUBSCRIPTION.c.status == SubscriptionStatus.ACTIVE,
            SUBSCRIPTION.c.next_part == part,
            Subscriber.status == SubscriberStatus.ACTIVE,
        )
    ).first()
    if row is None:
        return False
    sub_id, round_, zone = row
    plan = _plans(session, {series_id})[series_id]
    own = _parts(session, {series_id}).get(series_id, {})
    if not _releasable(own.get(part)):
        return False
    values = _progress(_after(plan, own, part), following(plan, zone, now))
    claimed = session.execute(
        update(SUBSCRIPTION)
        .where(
            SUBSCRIPTION.c.id == sub_id,
            SUBSCRIPTION.c.status == SubscriptionStatus.ACTIVE,
            SUBSCRIPTION.c.next_part == part,
            SUBSCRIPTION.c.round == round_,
        )
        .values(next_part=part + 1, **values)
    ).rowcount
    if claimed != 1:
        return False
    insert = insert_ignoring_conflicts(session, DELIVERY, *LEDGER_KEY).values(
        issue_id=own[part][0],
        subscriber_id=subscriber_id,
        round=round_,
        status=DeliveryStatus.PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    released = session.execute(insert).rowcount == 1
    if released:
        log.info("subscription %s: part %s released now (round %s)", sub_id, part, round_)
    return released
