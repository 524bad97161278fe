"""The tick without a worker: fan-out, claims, leases, pause and completion, on both DBs."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import event, select, update

from newsletter.core.db.models import Delivery, Issue, Series, Subscriber
from newsletter.core.db.session import get_engine, transaction
from newsletter.core.settings import reset_settings
from newsletter.delivery import control
from newsletter.delivery.tick import run_tick
from tests.support.factories import T0, add_subscribers, make_series
from tests.support.ledger import deliveries


class Captured(list):
    """An `enqueue` stand-in that remembers each batch instead of calling the broker."""

    def __call__(self, ids: list[int]) -> None:
        self.append(list(ids))


@pytest.fixture
def batches() -> Captured:
    return Captured()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSLETTER_BATCH_SIZE", "50")
    reset_settings()


def test_fan_out_creates_one_delivery_per_active_subscriber(db, small_batches, batches) -> None:
    with transaction() as session:
        series = make_series(session)
        active = add_subscribers(session, series, 120)
        add_subscribers(session, series, 3, prefix="gone", status="unsubscribed")
        add_subscribers(session, series, 2, prefix="pending", subscription_status="pending")

    result = run_tick(T0, enqueue=batches)

    assert list(result.fanned_out.values()) == [120]
    assert [len(b) for b in batches] == [50, 50, 20]
    assert sorted(i for b in batches for i in b) == sorted(set(i for b in batches for i in b))
    with transaction() as session:
        rows = deliveries(session)
        issue = session.scalars(select(Issue)).one()
    assert sorted(r.subscriber_id for r in rows) == active
    assert {r.status for r in rows} == {"queued"}
    assert {r.lease_until for r in rows} == {T0 + dt.timedelta(seconds=300)}
    assert issue.status == "sending" and issue.fanned_out_at == T0


def test_repeat_tick_is_a_no_op(db, batches) -> None:
    with transaction() as session:
        add_subscribers(session, make_series(session), 10)
    run_tick(T0, enqueue=batches)
    again = run_tick(T0 + dt.timedelta(seconds=30), enqueue=batches)
    assert again.fanned_out == {} and again.claimed == 0 and len(batches) == 1
    with transaction() as session:
        assert len(deliveries(session)) == 10


def test_nothing_due_before_scheduled_time_or_in_paused_series(db, batches) -> None:
    with transaction() as session:
        add_subscribers(session, make_series(session, start=T0 + dt.timedelta(hours=1)), 5)
        add_subscribers(session, make_series(session, slug="held", status="paused"), 5, prefix="h")
    result = run_tick(T0, enqueue=batches)
    assert result.fanned_out == {} and batches == []


def test_idle_tick_is_a_handful_of_queries(db, batches) -> None:
    with transaction() as session:
        add_subscribers(session, make_series(session, start=T0 + dt.timedelta(days=1)), 5)
    statements: list[str] = []

    def count(*args) -> None:
        statements.append(args[2])

    event.listen(get_engine(), "before_cursor_execute", count)
    try:
        run_tick(T0, enqueue=batches)
    finally:
        event.remove(get_engine(), "before_cursor_execute", count)
    work = [s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
    # 9: the serial step's one indexed UPDATE that ends pauses for a while.
    assert len(work) <= 9, work


def test_rate_limit_caps_rows_in_hand_to_half_a_lease(db, batches, monkeypatch) -> None:
    for key, value in {"RATE_LIMIT": "1", "LEASE_SECONDS": "100", "BATCH_SIZE": "20"}.items():
        monkeypatch.setenv(f"NEWSLETTER_{key}", value)
    reset_settings()
    with transaction() as session:
        add_subscribers(session, make_series(session), 120)
    assert [len(b) for b in run_tick(T0, enqueue=batches).batches] == [20, 20, 10]
    assert run_tick(T0 + dt.timedelta(seconds=5), enqueue=batches).claimed == 0
    with transaction() as session:  # a worker sent 30 of them
        sent = select(Delivery.id).where(Delivery.status == "queued").limit(30)
        session.execute(update(Delivery).where(Delivery.id.in_(sent)).values(status="sent"))
    assert run_tick(T0 + dt.timedelta(seconds=35), enqueue=batches).claimed == 30


def test_global_pause_stops_fan_out_and_claims(db, batches) -> None:
    with transaction() as session:
        add_subscribers(session, make_series(session), 10)
        control.set_paused(session, True)
    assert run_tick(T0, enqueue=batches).paused
    with transaction() as session:
        assert deliveries(session) == []
        assert control.is_paused(session)
        control.set_paused(session, False)
    assert run_tick(T0, enqueue=batches).claimed == 10


def test_pause_after_fan_out_keeps_rows_pending(db, batches) -> None:
    with transaction() as session:
        add_subscribers(session, make_series(session), 10)
    run_tick(T0, enqueue=lambda ids: None)
    with transaction() as session:
        session.execute(update(Delivery).values(status="pending", lease_until=None))
        control.set_paused(session, True)
    assert run_tick(T0, enqueue=batches).claimed == 0
    with transaction() as session:
        session.execute(update(Series).values(status="paused"))
        control.set_paused(session, False)
    assert run_tick(T0, enqueue=batches).claimed == 0  # the series itself is paused
    with transaction() as session:
        session.execute(update(Series).values(status="active"))
    assert run_tick(T0, enqueue=batches).claimed == 10


def test_expired_leases_are_released_and_reclaimed(db, batches, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_MAX_ATTEMPTS", "3")
    # The recorder never publishes, so the broker looks empty: keep lost-message recovery
    # (tested on its own below) out of this test of the lease.
    monkeypatch.setenv("NEWSLETTER_REPUBLISH_AFTER", "3600")
    reset_settings()
    with transaction() as session:
        add_subscribers(session, make_series(session), 6)
    first = run_tick(T0, enqueue=batches).batches[0]
    with transaction() as session:
        # Two rows were claimed by a worker that then died; one of them used its last try.
        session.execute(
            update(Delivery).where(Delivery.id.in_(first[:2])).values(status="sending", attempts=1)
        )
        session.execute(update(Delivery).where(Delivery.id == first[1]).values(attempts=3))
    assert run_tick(T0 + dt.timedelta(seconds=299), enqueue=batches).released == 0
    later = run_tick(T0 + dt.timedelta(seconds=301), enqueue=batches)
    assert (later.released, later.expired_failed, later.claimed) == (5, 1, 5)
    with transaction() as session:
        failed = session.get(Delivery, first[1])
        assert failed.status == "failed" and "lease expired" in failed.last_error


def test_issue_is_sent_once_every_delivery_is_final(db, batches) -> None:
    with transaction() as session:
        add_subscribers(session, make_series(session), 4)
    ids = run_tick(T0, enqueue=batches).batches[0]
    with transaction() as session:
        for status, row_id in zip(("sent", "failed", "bounced"), ids, strict=False):
            session.execute(update(Delivery).where(Delivery.id == row_id).values(status=status))
    assert run_tick(T0, enqueue=batches).completed == []
    with transaction() as session:
        session.execute(update(Delivery).where(Delivery.id == ids[3]).values(status="skipped"))
    later = T0 + dt.timedelta(minutes=1)
    assert run_tick(later, enqueue=batches).completed == [1]
    with transaction() as session:
        issue = session.scalars(select(Issue)).one()
        assert (issue.status, issue.completed_at) == ("sent", later)


def test_concurrent_ticks_never_duplicate(db, small_batches) -> None:
    with transaction() as session:
        add_subscribers(session, make_series(session, parts=2, start=T0), 300)
    now = T0 + dt.timedelta(days=1)
    captured = [Captured() for _ in range(4)]
    errors: list[BaseException] = []

    def tick(enqueue: Captured) -> None:
        try:
            run_tick(now, enqueue=enqueue)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=tick, args=(c,)) for c in captured]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    enqueued = [i for c in captured for batch in c for i in batch]
    assert len(enqueued) == len(set(enqueued)) == 600
    with transaction() as session:
        assert len(deliveries(session)) == 600
        assert {r.status for r in deliveries(session)} == {"queued"}


def test_deliveries_survive_subscriber_erasure_as_counts(db, batches) -> None:
    with transaction() as session:
        ids = add_subscribers(session, make_series(session), 2)
    run_tick(T0, enqueue=batches)
    with transaction() as session:
        session.delete(session.get(Subscriber, ids[0]))
    with transaction() as session:
        assert sorted((r.subscriber_id for r in deliveries(session)), key=str) == [ids[1], None]
