"""End to end with a real Celery worker subprocess, real Redis and an SMTP sink on loopback.

The tick runs in the test process with the clock under the test's control; the worker
process does the sending exactly as in production (`celery -A worker worker`).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import threading

import pytest
from sqlalchemy import select

from newsletter.core.db.models import Delivery, Subscriber, utcnow
from newsletter.core.db.session import transaction
from newsletter.core.settings import PROJECT_ROOT
from newsletter.delivery.tasks import tick_now
from newsletter.subscribers.service import unsubscribe_subscriber
from tests.support.factories import setup_issue
from tests.support.ledger import all_final, deliveries, ledger, settled, wait_until
from tests.support.mail import by_recipient, check_newsletter, recipients
from tests.support.processes import console_script

pytestmark = pytest.mark.integration


def addresses() -> dict[int, str]:
    with transaction() as session:
        return dict(session.execute(select(Subscriber.id, Subscriber.email)).all())


def test_two_hundred_subscribers_each_get_exactly_one_message(db, start_worker, sink) -> None:
    series_id, ids = setup_issue(200)
    start_worker()
    result = tick_now(utcnow())
    assert result.claimed == 200 and len(result.batches) == 1
    assert sink.wait_for(200, timeout=60)
    wait_until(all_final(200))

    assert ledger() == {"sent": 200}
    counts = recipients(sink.messages)
    assert len(counts) == 200 and set(counts.values()) == {1}
    received = by_recipient(sink.messages)
    email = addresses()
    with transaction() as session:
        for row in deliveries(session):
            check_newsletter(
                received[email[row.subscriber_id]],
                to_addr=email[row.subscriber_id],
                subscriber_id=row.subscriber_id,
                series_id=series_id,
                message_id=row.message_id,
            )
    tick_now(utcnow())
    with transaction() as session:
        assert session.scalars(select(Delivery.issue_id)).first()
    assert tick_now(utcnow()).completed == [] and sink.received == 200


def test_throttling_server_recovers_and_everyone_gets_one_copy(db, start_worker, sink) -> None:
    setup_issue(120)
    start_worker(retry_base_seconds="0.2", max_attempts="20", batch_size="40")
    sink.fail_transient_for(seconds=1.5)  # 421 + hang-up for every transaction, for a while
    deadline = utcnow() + dt.timedelta(seconds=60)
    while not all_final(120)() and utcnow() < deadline:
        wait_until(settled)
        # Ahead of real time by more than any backoff so far, well inside the lease.
        tick_now(utcnow() + dt.timedelta(seconds=30))
        sink.wait_for(120, timeout=0.3)
    assert ledger() == {"sent": 120}
    assert sink.refused > 0
    counts = recipients(sink.messages)
    assert len(counts) == 120 and set(counts.values()) == {1}


def test_unknown_mailboxes_bounce_and_the_rest_arrive(db, start_worker, sink) -> None:
    _, ids = setup_issue(50)
    email = addresses()
    dead = [email[i] for i in ids[:5]]
    sink.reject(dead)  # 550 5.1.1 User unknown
    start_worker()
    tick_now(utcnow())
    wait_until(all_final(50))
    assert ledger() == {"sent": 45, "bounced": 5}
    assert set(recipients(sink.messages)) == set(email.values()) - set(dead)
    with transaction() as session:
        statuses = dict(session.execute(select(Subscriber.id, Subscriber.status)).all())
        bounced = {r.subscriber_id: r.last_error for r in deliveries(session) if r.status != "sent"}
    assert {i for i, s in statuses.items() if s == "bounced"} == set(ids[:5]) == set(bounced)
    assert all("5.1.1" in error for error in bounced.values())


def test_unsubscribe_after_enqueue_is_honoured(db, start_worker, sink) -> None:
    series_id, ids = setup_issue(30)
    result = tick_now(utcnow())  # claimed and on the broker; no worker yet
    assert result.claimed == 30
    leaving = ids[:4]
    with transaction() as session:
        for subscriber_id in leaving:
            unsubscribe_subscriber(session, subscriber_id, series_id, via="link")
    start_worker()
    wait_until(all_final(30))
    assert ledger() == {"sent": 26, "skipped": 4}
    email = addresses()
    assert not {email[i] for i in leaving} & set(recipients(sink.messages))


def test_concurrent_ticks_in_two_processes_send_once(db, start_worker, sink) -> None:
    setup_issue(200)
    start_worker(batch_size="25")
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def tick_process() -> None:
        barrier.wait()
        env_cmd = [console_script("newsletter"), "tick"]
        codes.append(subprocess.run(env_cmd, cwd=PROJECT_ROOT, capture_output=True).returncode)

    threads = [threading.Thread(target=tick_process) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert codes == [0, 0]
    wait_until(all_final(200), timeout=60)
    assert ledger() == {"sent": 200}
    counts = recipients(sink.messages)
    assert len(counts) == 200 and set(counts.values()) == {1}


def test_worker_killed_mid_issue_loses_nothing(db, start_worker, sink, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_LEASE_SECONDS", "3")
    monkeypatch.setenv("NEWSLETTER_BATCH_SIZE", "50")
    from newsletter.core.settings import reset_settings

    reset_settings()
    setup_issue(300)
    first = start_worker(rate_limit="150")
    tick_now(utcnow())
    assert sink.wait_for(60, timeout=30)
    first.kill()  # SIGKILL, pool children included, mid-batch
    in_hand = ledger()
    assert in_hand["sending"] > 0 and in_hand["sent"] < 300  # killed with batches in hand

    start_worker(rate_limit="1000")
    wait_until(lambda: _tick_and_check(300), timeout=60, every=0.5)
    assert ledger() == {"sent": 300}
    counts = recipients(sink.messages)
    assert len(counts) == 300  # nothing lost
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= 2  # at most one per pool process with an SMTP transaction in flight


def _tick_and_check(total: int) -> bool:
    tick_now(utcnow())  # real time: leases past 3 s come back, live ones are renewed
    return all_final(total)()
