"""Operating the pipeline with a real worker: serial mode, pause, retry-failed, priorities."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from newsletter.cli import app as cli
from newsletter.core.db.models import Subscriber, utcnow
from newsletter.core.db.session import transaction
from newsletter.delivery.tasks import tick_now
from newsletter.subscribers.tasks import queue_confirmation
from tests.support.factories import add_subscribers, make_series
from tests.support.ledger import all_final, ledger, settled, wait_until
from tests.support.mail import parse, recipients

pytestmark = pytest.mark.integration
DAY = dt.timedelta(days=1)


def email_of(subscriber_id: int) -> str:
    with transaction() as session:
        return session.get(Subscriber, subscriber_id).email


def subjects_for(sink, address: str) -> list[str]:
    return [str(parse(data)["Subject"]) for _, rcpts, data in sink.messages if address in rcpts]


def tick_and_settle(now: dt.datetime) -> None:
    """A tick at `now`, then wait until the worker has sent whatever it claimed."""
    tick_now(now)
    wait_until(settled)


def test_serial_late_joiner_gets_part_one_first_then_the_rest(db, start_worker, sink) -> None:
    t0 = utcnow().replace(microsecond=0)
    with transaction() as session:
        series = make_series(session, mode="serial", parts=3, cadence="daily")
        (early,) = add_subscribers(session, series, 1, prefix="early", next_due_at=t0)
    start_worker()
    tick_and_settle(t0)
    tick_and_settle(t0 + DAY)  # part 2 goes out to `early`
    joined = t0 + DAY + dt.timedelta(hours=3)
    with transaction() as session:
        (late,) = add_subscribers(session, series, 1, prefix="late", next_due_at=joined)
    tick_and_settle(joined)
    late_addr, early_addr = email_of(late), email_of(early)
    assert len(subjects_for(sink, late_addr)) == 1 and "Essay 1" in subjects_for(sink, late_addr)[0]

    for now in (t0 + 2 * DAY, joined + DAY, joined + DAY + dt.timedelta(hours=1), joined + 2 * DAY):
        tick_and_settle(now)
    late_parts = subjects_for(sink, late_addr)
    early_parts = subjects_for(sink, early_addr)
    assert [("Essay 1" in s, "Essay 2" in s, "Essay 3" in s) for s in late_parts] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]
    assert len(early_parts) == 3 and "Essay 3" in early_parts[-1]
    assert ledger() == {"sent": 6}


def test_pause_then_resume_and_retry_failed_from_the_cli(db, start_worker, sink) -> None:
    runner = CliRunner()
    with transaction() as session:
        series = make_series(session, start=utcnow() - dt.timedelta(minutes=1))
        ids = add_subscribers(session, series, 20)
    full = email_of(ids[0])
    sink.reject([full], code="452 4.2.2 Mailbox full")  # transient, until attempts run out
    start_worker(max_attempts="1")

    assert runner.invoke(cli, ["pause"]).exit_code == 0
    tick_and_settle(utcnow())
    assert ledger() == {} and sink.received == 0  # no fan-out while paused
    assert runner.invoke(cli, ["resume"]).exit_code == 0
    tick_and_settle(utcnow())
    wait_until(all_final(20))
    assert ledger() == {"sent": 19, "failed": 1}

    sink.clear()  # the mailbox has room again
    result = runner.invoke(cli, ["retry-failed"])
    assert result.exit_code == 0 and "1 failed deliveries re-queued" in result.output
    tick_and_settle(utcnow())
    wait_until(all_final(20))
    assert ledger() == {"sent": 20}
    assert recipients(sink.messages) == {full: 1}  # only the failed one, none of the sent
    assert runner.invoke(cli, ["retry-failed"]).output.startswith("0 failed")


def test_confirmation_overtakes_a_bulk_backlog(db, start_worker, sink) -> None:
    with transaction() as session:
        series = make_series(session, start=utcnow() - dt.timedelta(minutes=1))
        add_subscribers(session, series, 200)
        (newcomer,) = add_subscribers(
            session, series, 1, prefix="new", status="pending", subscription_status="pending"
        )
        series_id = series.id
    start_worker(rate_limit="40", batch_size="10")  # 20 bulk tasks, about five seconds
    assert tick_now(utcnow()).claimed == 200
    assert sink.wait_for(5, timeout=20)
    queue_confirmation(newcomer, series_id)
    address = email_of(newcomer)
    wait_until(lambda: address in recipients(sink.messages), timeout=20)
    assert ledger()["sent"] < 120  # well before the backlog of bulk batches was drained
    (subject,) = subjects_for(sink, address)
    assert subject


def test_a_confirmation_for_a_departed_subscriber_is_not_sent(db, start_worker, sink) -> None:
    with transaction() as session:
        series = make_series(session)
        (gone,) = add_subscribers(session, series, 1, status="unsubscribed")
        series_id = series.id
    start_worker()
    queue_confirmation(gone, series_id)
    queue_confirmation(10_000, series_id)  # erased meanwhile
    with transaction() as session:
        (ok,) = add_subscribers(session, series, 1, prefix="ok", status="pending")
    queue_confirmation(ok, series_id)
    assert sink.wait_for(1, timeout=20)
    assert list(recipients(sink.messages)) == [email_of(ok)]
    with transaction() as session:
        status = session.scalars(select(Subscriber.status).where(Subscriber.id == gone)).one()
    assert status == "unsubscribed"
