"""Crash recovery in seconds: dead workers' claims and lost task messages, without a lease.

The unit tests drive the tick with a test clock; the last one kills a real worker
(SIGKILL, pool included) with the default 300 s lease and shows delivery resumes at once.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import insert, select, update

from newsletter.core.db.models import Delivery, WorkerHeartbeat, utcnow
from newsletter.core.db.session import transaction
from newsletter.delivery import heartbeat, monitor, send
from newsletter.delivery.ledger import Ledger, LedgerLost
from newsletter.delivery.tasks import tick_now
from newsletter.delivery.tick import run_tick
from tests.support.factories import T0, add_subscribers, make_series
from tests.support.ledger import all_final, ledger, wait_until
from tests.support.mail import recipients


class Captured(list):
    def __call__(self, ids: list[int]) -> None:
        self.append(list(ids))


def _issue(count: int) -> list[int]:
    """`count` deliveries claimed as queued by a tick at T0; returns their ids."""
    with transaction() as session:
        add_subscribers(session, make_series(session), count)
    return [i for batch in run_tick(T0, enqueue=Captured()).batches for i in batch]


def _worker(worker_id: str, beat_at: dt.datetime) -> None:
    with transaction() as session:
        session.execute(
            insert(WorkerHeartbeat).values(id=worker_id, started_at=beat_at, beat_at=beat_at)
        )


def _hold(ids: list[int], worker_id: str, attempts: int = 1) -> None:
    """Rows a worker claimed for sending (as `claim_batch` leaves them)."""
    with transaction() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids))
            .values(status="sending", claimed_by=worker_id, attempts=attempts)
        )


def _statuses() -> dict[int, str]:
    with transaction() as session:
        return dict(session.execute(select(Delivery.id, Delivery.status)).all())


def test_a_silent_workers_rows_come_back_at_the_next_tick(db, monkeypatch) -> None:
    monkeypatch.setattr(monitor, "queue_depths", lambda settings: {"bulk": 3})  # a backlog
    ids = _issue(4)
    _worker("dead", T0)
    _worker("alive", T0 + dt.timedelta(seconds=25))
    _hold(ids[:2], "dead")
    _hold(ids[2:], "alive")
    result = run_tick(T0 + dt.timedelta(seconds=30), enqueue=Captured())
    assert result.orphans == 2 and result.released == 0  # no lease had run out
    assert result.claimed == 2  # handed out again in the same tick
    statuses = _statuses()
    assert [statuses[i] for i in ids] == ["queued", "queued", "sending", "sending"]
    with transaction() as session:
        assert session.scalars(select(WorkerHeartbeat.id)).all() == ["alive"]


def test_a_row_that_keeps_killing_workers_still_fails(db, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_MAX_ATTEMPTS", "2")
    from newsletter.core.settings import reset_settings

    reset_settings()
    ids = _issue(1)
    _worker("dead", T0)
    _hold(ids, "dead", attempts=2)
    run_tick(T0 + dt.timedelta(seconds=30), enqueue=Captured())
    with transaction() as session:
        row = session.get(Delivery, ids[0])
        assert row.attempts == 2 and row.status == "queued"  # its last try, not a new one


def test_queued_rows_whose_message_is_gone_are_published_again(db, monkeypatch) -> None:
    depth = {"bulk": 0}
    monkeypatch.setattr(monitor, "queue_depths", lambda settings: dict(depth))
    ids = _issue(3)
    assert run_tick(T0 + dt.timedelta(seconds=59), enqueue=Captured()).republished == 0
    depth["bulk"] = 5  # the broker still holds messages: they are coming
    assert run_tick(T0 + dt.timedelta(seconds=61), enqueue=Captured()).republished == 0
    depth["bulk"] = 0  # an empty broker and rows queued for a minute: the messages are lost
    again = Captured()
    result = run_tick(T0 + dt.timedelta(seconds=62), enqueue=again)
    assert result.republished == 3 and sorted(i for b in again for i in b) == ids


def test_a_dead_worker_makes_every_queued_row_suspect(db, monkeypatch) -> None:
    """Its prefetched message stays unacknowledged on the broker for an hour."""
    monkeypatch.setattr(monitor, "queue_depths", lambda settings: {"bulk": 0})
    _issue(3)
    _worker("dead", T0)
    result = run_tick(T0 + dt.timedelta(seconds=21), enqueue=Captured())
    assert result.republished == 3 and result.claimed == 3


def test_an_unreachable_broker_republishes_nothing(db, monkeypatch) -> None:
    monkeypatch.setattr(monitor, "queue_depths", lambda settings: {"bulk": None})
    _issue(2)
    assert run_tick(T0 + dt.timedelta(seconds=120), enqueue=Captured()).republished == 0


def test_heartbeat_registers_beats_and_leaves(db) -> None:
    worker_id = heartbeat.start()
    try:
        assert heartbeat.current() == worker_id
        with transaction() as session:
            first = session.get(WorkerHeartbeat, worker_id).beat_at
        time.sleep(0.05)
        heartbeat.beat(worker_id)
        with transaction() as session:
            assert session.get(WorkerHeartbeat, worker_id).beat_at > first
    finally:
        heartbeat.stop()
    assert heartbeat.current() is None
    with transaction() as session:
        assert session.get(WorkerHeartbeat, worker_id) is None


@pytest.mark.integration
def test_killed_worker_with_the_default_lease_is_recovered_within_a_minute(
    db, start_worker, sink, monkeypatch
) -> None:
    """Default lease (300 s) and heartbeat timeout (20 s): recovery must not wait a lease."""
    monkeypatch.setenv("NEWSLETTER_BATCH_SIZE", "50")
    from newsletter.core.settings import reset_settings

    reset_settings()
    with transaction() as session:
        series = make_series(session, start=utcnow() - dt.timedelta(minutes=1))
        add_subscribers(session, series, 300)
    first = start_worker(rate_limit="150")
    tick_now(utcnow())
    assert sink.wait_for(60, timeout=30)
    first.kill()  # SIGKILL, pool children included, mid-batch
    in_hand = ledger()
    assert in_hand["sending"] > 0 and in_hand["sent"] < 300
    start_worker(rate_limit="1000")
    restarted = time.monotonic()

    def tick_and_check() -> bool:
        tick_now(utcnow())
        return all_final(300)()

    wait_until(tick_and_check, timeout=60, every=1.0)
    took = time.monotonic() - restarted
    assert ledger() == {"sent": 300}
    counts = recipients(sink.messages)
    assert len(counts) == 300  # nothing lost
    assert sum(n - 1 for n in counts.values()) <= 2  # one per pool process in flight at most
    print(f"recovered {300 - in_hand['sent']} deliveries {took:.1f} s after the restart")


def test_a_batch_cut_off_by_the_database_is_settled_without_a_duplicate(
    db, sink, monkeypatch
) -> None:
    """The third sent-mark fails as if the database went away after the SMTP 250."""
    with transaction() as session:
        add_subscribers(session, make_series(session, start=utcnow()), 5)
    (batch,) = run_tick(utcnow(), enqueue=Captured()).batches
    original = Ledger.sent
    calls = []

    def flaky(self: Ledger, delivery_id: int) -> None:
        calls.append(delivery_id)
        if len(calls) == 3:
            raise LedgerLost(delivery_id, utcnow())
        original(self, delivery_id)

    monkeypatch.setattr(Ledger, "sent", flaky)
    worker_id = heartbeat.start()
    try:
        outcome = send.send_batch(batch)
        assert outcome["sent"] == 2 and outcome["abandoned"] == 2
        assert len(sink.messages) == 3  # nothing more went out once the ledger was lost
        assert sorted(_statuses().values()) == ["sending"] * 3 + ["sent"] * 2
        heartbeat.settle(worker_id)  # what the beating thread does once the DB answers
        statuses = _statuses()
        assert statuses[calls[2]] == "sent"  # its message went out: recorded, not resent
        assert sorted(statuses.values()) == ["pending", "pending", "sent", "sent", "sent"]
        monkeypatch.setattr(Ledger, "sent", original)
        (rest,) = run_tick(utcnow(), enqueue=Captured()).batches
        assert send.send_batch(rest)["sent"] == 2
    finally:
        heartbeat.stop()
    counts = recipients(sink.messages)
    assert len(counts) == 5 and set(counts.values()) == {1}  # 0 lost, 0 duplicated
