"""The send service in-process against the SMTP sink (no broker): claims and outcomes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from newsletter.core.db.models import Delivery, Event, Subscriber, utcnow
from newsletter.core.db.session import get_engine, transaction
from newsletter.core.settings import get_settings, reset_settings
from newsletter.delivery import control, send
from newsletter.delivery.claim import claim_batch
from newsletter.delivery.ledger import Ledger
from newsletter.delivery.retry import backoff, retry_failed
from newsletter.delivery.tick import run_tick
from tests.support.factories import setup_issue
from tests.support.ledger import deliveries
from tests.support.mail import by_recipient, check_newsletter, recipients
from tests.support.smtp_sink import SmtpSink


def tick_batches(now: dt.datetime | None = None) -> list[list[int]]:
    return run_tick(now or utcnow(), enqueue=lambda ids: None).batches


def emails(ids: list[int]) -> dict[int, str]:
    with transaction() as session:
        rows = session.execute(
            select(Subscriber.id, Subscriber.email).where(Subscriber.id.in_(ids))
        )
        return dict(rows.all())


def test_batch_is_sent_once_with_correct_headers(db, sink: SmtpSink) -> None:
    series_id, ids = setup_issue(12)
    (batch,) = tick_batches()
    assert send.send_batch(batch)["sent"] == 12
    assert send.send_batch(batch) == {}  # a duplicated task message claims nothing
    assert sink.connections == 1  # one SMTP connection for the whole batch

    assert set(recipients(sink.messages).values()) == {1}
    received = by_recipient(sink.messages)
    address = emails(ids)
    with transaction() as session:
        rows = deliveries(session)
    assert {r.status for r in rows} == {"sent"} and all(r.attempts == 1 for r in rows)
    for row in rows:
        check_newsletter(
            received[address[row.subscriber_id]],
            to_addr=address[row.subscriber_id],
            subscriber_id=row.subscriber_id,
            series_id=series_id,
            message_id=row.message_id,
        )


def test_subscriber_who_left_after_enqueue_is_skipped(db, sink: SmtpSink) -> None:
    _, ids = setup_issue(3)
    (batch,) = tick_batches()
    with transaction() as session:
        session.execute(
            update(Subscriber).where(Subscriber.id == ids[0]).values(status="unsubscribed")
        )
    outcome = send.send_batch(batch)
    assert (outcome["sent"], outcome["skipped"]) == (2, 1)
    assert emails([ids[0]])[ids[0]] not in recipients(sink.messages)
    with transaction() as session:
        assert session.scalars(select(Delivery.status).order_by(Delivery.id)).all()[0] == "skipped"


def test_transient_failures_retry_later_without_duplicates(db, sink: SmtpSink, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_RETRY_BASE_SECONDS", "60")
    reset_settings()
    _, ids = setup_issue(10)
    sink.fail_transient_for(count=2)  # 421 and hang up, twice
    (batch,) = tick_batches()
    assert send.send_batch(batch)["sent"] == 8
    with transaction() as session:
        waiting = [r for r in deliveries(session) if r.status == "pending"]
    assert len(waiting) == 2 and all("421" in r.last_error for r in waiting)
    assert all(r.next_attempt_at > utcnow() + dt.timedelta(seconds=25) for r in waiting)

    assert tick_batches() == []  # not due yet
    (retry,) = tick_batches(utcnow() + dt.timedelta(hours=1))
    assert send.send_batch(retry)["sent"] == 2
    assert sorted(recipients(sink.messages).values()) == [1] * 10
    with transaction() as session:
        assert {r.status for r in deliveries(session)} == {"sent"}
        assert sorted(r.attempts for r in deliveries(session))[-2:] == [2, 2]


def test_unreachable_server_hands_the_batch_back(db, sink: SmtpSink) -> None:
    setup_issue(10)
    sink.fail_transient_for(seconds=60)
    (batch,) = tick_batches()
    outcome = send.send_batch(batch)
    assert (outcome["retry"], outcome["released"]) == (3, 7)
    with transaction() as session:
        rows = deliveries(session)
    assert {r.status for r in rows} == {"pending"}
    assert sorted(r.attempts for r in rows) == [0] * 7 + [1] * 3


def test_attempts_run_out_then_failed(db, sink: SmtpSink, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_MAX_ATTEMPTS", "2")
    reset_settings()
    setup_issue(1)
    sink.fail_transient_for(seconds=60, reply="451 4.3.0 Busy")
    for hours in (0, 5):
        (batch,) = tick_batches(utcnow() + dt.timedelta(hours=hours))
        send.send_batch(batch)
    with transaction() as session:
        (row,) = deliveries(session)
    assert row.status == "failed" and "after 2 attempts" in row.last_error
    assert sink.received == 0


def test_permanent_rejections_fail_and_unknown_mailboxes_bounce(db, sink: SmtpSink) -> None:
    _, ids = setup_issue(6)
    address = emails(ids)
    sink.reject([address[ids[0]], address[ids[1]]])  # 550 5.1.1
    sink.reject([address[ids[2]]], code="554 5.7.1 Message rejected as spam")
    (batch,) = tick_batches()
    outcome = send.send_batch(batch)
    assert (outcome["sent"], outcome["bounced"], outcome["failed"]) == (3, 2, 1)
    with transaction() as session:
        by_subscriber = {r.subscriber_id: r for r in deliveries(session)}
        statuses = dict(session.execute(select(Subscriber.id, Subscriber.status)).all())
        events = session.scalars(select(Event.subscriber_id).where(Event.kind == "bounced")).all()
    assert [by_subscriber[i].status for i in ids[:3]] == ["bounced", "bounced", "failed"]
    assert "5.1.1" in by_subscriber[ids[0]].last_error
    assert "5.7.1" in by_subscriber[ids[2]].last_error
    assert [statuses[i] for i in ids[:3]] == ["bounced", "bounced", "active"]
    assert sorted(events) == ids[:2]


def test_pause_at_send_time_hands_rows_back(db, sink: SmtpSink) -> None:
    setup_issue(4)
    (batch,) = tick_batches()
    with transaction() as session:
        control.set_paused(session, True)
    assert send.send_batch(batch)["released"] == 4
    with transaction() as session:
        assert {r.status for r in deliveries(session)} == {"pending"}
        control.set_paused(session, False)
    (again,) = tick_batches()
    assert send.send_batch(again)["sent"] == 4


def test_retry_failed_never_resends_a_sent_delivery(db, sink: SmtpSink) -> None:
    _, ids = setup_issue(4)
    sink.reject([emails([ids[0]])[ids[0]]], code="552 5.2.2 Mailbox full")
    (batch,) = tick_batches()
    send.send_batch(batch)
    with transaction() as session:
        assert retry_failed(session) == 1
    (again,) = tick_batches()
    assert len(again) == 1
    sink.clear()
    assert send.send_batch(again)["sent"] == 1
    assert sink.received == 4  # 3 the first time, only the failed one again
    with transaction() as session:
        assert retry_failed(session) == 0


def test_lease_renewal_drops_rows_someone_else_now_owns(db, sink: SmtpSink) -> None:
    setup_issue(3)
    (batch,) = tick_batches()
    settings = get_settings()
    identity = send.Identity.from_settings(settings)
    with transaction() as session:
        claim = claim_batch(session, batch, settings, identity)
    with transaction() as session:  # the tick released row 1 and it was claimed again
        session.execute(
            update(Delivery)
            .where(Delivery.id == batch[0])
            .values(lease_until=claim.lease_until + dt.timedelta(seconds=1))
        )
    later = claim.lease_until + dt.timedelta(minutes=5)
    with get_engine().connect() as conn, Ledger(conn, settings) as ledger:
        assert ledger.renew(batch, claim.lease_until, later) == set(batch[1:])


@pytest.mark.parametrize("attempts", [1, 3, 30])
def test_backoff_grows_with_jitter_and_a_cap(attempts: int) -> None:
    delay = backoff(attempts, 30).total_seconds()
    expected = min(30 * 2 ** (attempts - 1), 6 * 3600)
    assert 0.5 * expected <= delay <= 1.5 * expected
