"""Serial mode in the tick: each subscriber walks the parts on their own clock."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select

from newsletter.core.db.models import Delivery, Issue, Subscription
from newsletter.core.db.session import transaction
from newsletter.delivery.tick import TickResult, run_tick
from tests.support.factories import T0, add_subscribers, make_series

DAY = dt.timedelta(days=1)


def parts_received(subscriber_id: int) -> list[int]:
    with transaction() as session:
        return list(
            session.scalars(
                select(Issue.number)
                .join(Delivery, Delivery.issue_id == Issue.id)
                .where(Delivery.subscriber_id == subscriber_id)
                .order_by(Delivery.created_at, Delivery.id)
            )
        )


def subscription(subscriber_id: int) -> Subscription:
    with transaction() as session:
        return session.scalars(
            select(Subscription).where(Subscription.subscriber_id == subscriber_id)
        ).one()


def tick(now: dt.datetime) -> TickResult:
    return run_tick(now, enqueue=lambda ids: None)


def test_late_joiner_starts_at_part_one_then_follows_the_cadence(db) -> None:
    with transaction() as session:
        series = make_series(session, mode="serial", parts=4, cadence="daily")
        (early,) = add_subscribers(session, series, 1, prefix="early", next_due_at=T0)

    tick(T0)
    tick(T0 + DAY + dt.timedelta(minutes=3))  # a late tick does not shift the schedule
    assert parts_received(early) == [1, 2]
    assert subscription(early).next_due_at == T0 + 2 * DAY

    joined = T0 + DAY + dt.timedelta(hours=2)  # after part 2 went out to `early`
    with transaction() as session:
        (late,) = add_subscribers(session, series, 1, prefix="late", next_due_at=joined)
    assert tick(joined).serial_created == 1
    assert parts_received(late) == [1]
    assert parts_received(early) == [1, 2]

    for day in (2, 3, 4, 5):
        tick(T0 + day * DAY)
        tick(joined + (day - 1) * DAY)
    assert parts_received(early) == [1, 2, 3, 4]
    assert parts_received(late) == [1, 2, 3, 4]
    assert subscription(late).status == "finished" and subscription(late).next_due_at is None
    assert tick(T0 + 30 * DAY).serial_created == 0


def test_part_is_not_released_early(db) -> None:
    with transaction() as session:
        series = make_series(session, mode="serial", parts=2, cadence="weekly")
        (sid,) = add_subscribers(session, series, 1, next_due_at=T0)
    run_tick(T0, enqueue=lambda ids: None)
    run_tick(T0 + 6 * DAY, enqueue=lambda ids: None)
    assert parts_received(sid) == [1]
    run_tick(T0 + 7 * DAY, enqueue=lambda ids: None)
    assert parts_received(sid) == [1, 2]


def test_after_downtime_parts_do_not_arrive_in_a_burst(db) -> None:
    with transaction() as session:
        series = make_series(session, mode="serial", parts=3, cadence="daily")
        (sid,) = add_subscribers(session, series, 1, next_due_at=T0)
    run_tick(T0, enqueue=lambda ids: None)
    back = T0 + 5 * DAY  # the scheduler was down for days
    run_tick(back, enqueue=lambda ids: None)
    run_tick(back + dt.timedelta(minutes=1), enqueue=lambda ids: None)
    assert parts_received(sid) == [1, 2]
    assert subscription(sid).next_due_at == back + DAY


def test_paused_and_unconfirmed_subscriptions_wait(db) -> None:
    with transaction() as session:
        series = make_series(session, mode="serial", parts=2)
        (paused,) = add_subscribers(session, series, 1, prefix="p", subscription_status="paused")
        (pending,) = add_subscribers(session, series, 1, prefix="q", subscription_status="pending")
    assert run_tick(T0 + DAY, enqueue=lambda ids: None).serial_created == 0
    assert parts_received(paused) == parts_received(pending) == []


def test_concurrent_ticks_advance_each_subscription_once(db) -> None:
    with transaction() as session:
        series = make_series(session, mode="serial", parts=3)
        ids = add_subscribers(session, series, 150, next_due_at=T0)
    created: list[int] = []

    def tick() -> None:
        created.append(run_tick(T0, enqueue=lambda ids: None).serial_created)

    threads = [threading.Thread(target=tick) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(created) == 150
    assert all(parts_received(i) == [1] for i in ids[:5])
    assert {subscription(i).next_part for i in ids[:5]} == {2}
