"""Dependency faults with real processes on PostgreSQL: Redis and PostgreSQL restarted
mid-send, an SMTP server answering 421 for a while, and 5xx for 1 % of addresses.

Each test owns private servers (`servers.py`), so restarting them disturbs no one else,
real Celery worker processes, and a tick loop in the test process (one tick a second:
beat's 30 s period would only add a constant wait to every test; the recovery under test
is the tick's, not beat's). The lease stays at its default 300 s, so every recovery here
comes from the heartbeat and lost-message paths, never from a lease running out.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, select, text

from newsletter.core import celery_app, processes
from newsletter.core.db import session as db_session
from newsletter.core.db.migrate import upgrade
from newsletter.core.db.models import Base, Delivery, Subscriber, utcnow
from newsletter.core.db.session import transaction
from newsletter.core.settings import reset_settings
from newsletter.delivery.tasks import tick_now
from tests.support.factories import add_subscribers, make_series
from tests.support.ledger import ledger, wait_until
from tests.support.mail import recipients
from tests.support.servers import PrivatePostgres, PrivateRedis
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[PrivateRedis, PrivatePostgres, str]]:
    """Private Redis and PostgreSQL for this module, with a migrated database."""
    with PrivateRedis() as redis_server, PrivatePostgres() as pg:
        admin = create_engine(pg.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "restarts"'))
        admin.dispose()
        upgrade(pg.url("restarts"))
        db_session.dispose_engines()
        yield redis_server, pg, pg.url("restarts")
        db_session.dispose_engines()


class Rig:
    """This test's database, broker, sink, workers and tick loop."""

    def __init__(self, redis_server: PrivateRedis, pg: PrivatePostgres, tmp: Path) -> None:
        self.redis, self.pg, self.tmp = redis_server, pg, tmp
        self.sink = SmtpSink().start()
        self.workers: list[processes.Proc] = []
        self.stop = threading.Event()
        self.ticks = 0
        self.tick_errors = 0
        self._loop: threading.Thread | None = None

    def start_worker(self, **overrides: str) -> processes.Proc:
        env = {**os.environ, **{f"NEWSLETTER_{k.upper()}": v for k, v in overrides.items()}}
        args = ["worker", "-Q", "transactional,bulk", "-c", "2", "-l", "info"]
        args += ["-n", f"restarts{len(self.workers)}@%h", "--without-gossip", "--without-mingle"]
        proc = processes.start(f"worker-{len(self.workers)}", args, env, self.tmp)
        self.workers.append(proc)
        processes.wait_ready(proc, timeout=60)
        return proc

    def tick_loop(self, every: float = 1.0) -> None:
        """Tick once a second in a thread; a tick that fails (a dependency is down) is
        simply followed by the next one, as beat's would be."""

        def run() -> None:
            while not self.stop.wait(every):
                try:
                    tick_now(utcnow())
                    self.ticks += 1
                except Exception:
                    self.tick_errors += 1

        self._loop = threading.Thread(target=run, name="tick-loop", daemon=True)
        self._loop.start()

    def close(self) -> None:
        self.stop.set()
        if self._loop is not None:
            self._loop.join(30)
        for proc in self.workers:
            processes.stop(proc, grace=0)
        self.sink.stop()


@pytest.fixture
def rig(servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    redis_server, pg, url = servers
    engine = create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    redis.Redis.from_url(redis_server.url).flushall()
    rig = Rig(redis_server, pg, tmp_path / "logs")
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", url)
    monkeypatch.setenv("NEWSLETTER_BROKER_URL", redis_server.url)
    monkeypatch.setenv("NEWSLETTER_SMTP_URL", rig.sink.url)
    monkeypatch.setenv("NEWSLETTER_BATCH_SIZE", "20")
    reset_settings()
    db_session.dispose_engines()
    celery_app.reconfigure()
    try:
        yield rig
    finally:
        rig.close()
        celery_app.app.close()
        db_session.dispose_engines()


def _issue(count: int) -> None:
    with transaction() as session:
        add_subscribers(session, make_series(session, start=utcnow()), count)


def _delivered_once(rig: Rig, count: int) -> Callable[[], bool]:
    return lambda: rig.sink.received >= count and ledger().get("sent", 0) >= count


def _check_exactly_once(rig: Rig, count: int) -> None:
    counts = recipients(rig.sink.messages)
    assert len(counts) == count, f"{count - len(counts)} recipients lost"
    assert sum(n - 1 for n in counts.values()) == 0, "duplicates"
    assert ledger() == {"sent": count}


def test_redis_restarted_mid_send_loses_and_duplicates_nothing(rig: Rig) -> None:
    """Nothing kept on disk: every queued message is gone. Workers reconnect; the tick sees
    the broker forgot and publishes the queued rows again; all within 120 s."""
    count = 400
    _issue(count)
    # A rate limit (kept in Redis) makes the send last long enough to cut, and puts the
    # pacing store in the fault too.
    rig.start_worker(rate_limit="80")
    rig.tick_loop()
    assert rig.sink.wait_for(80, timeout=30)
    rig.redis.restart(down=2.0)
    restarted = time.monotonic()
    wait_until(_delivered_once(rig, count), timeout=120, every=0.5)
    took = time.monotonic() - restarted
    _check_exactly_once(rig, count)
    print(f"redis restart: all {count} delivered {took:.1f} s after it")
    assert took < 120


def test_postgres_restarted_mid_send_recovers_without_the_lease(rig: Rig) -> None:
    """`pg_ctl restart -m fast` cuts every connection mid-batch: a 250 not yet recorded is
    recorded by the heartbeat thread, the rest handed back; nothing waits out 300 s."""
    count = 400
    _issue(count)
    rig.start_worker(rate_limit="80")
    rig.tick_loop()
    assert rig.sink.wait_for(80, timeout=30)
    rig.pg.restart()
    restarted = time.monotonic()
    wait_until(_delivered_once(rig, count), timeout=60, every=0.5)
    took = time.monotonic() - restarted
    _check_exactly_once(rig, count)
    print(f"postgres restart: all {count} delivered {took:.1f} s after it")


def test_smtp_421_storm_then_1_percent_5xx(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """421 for 10 s, then delivered; the 1 % refused with 550 are bounced and suppressed.

    Retries start after NEWSLETTER_RETRY_BASE_SECONDS (30 s by default, ±50 %); 2 s here so
    the test waits seconds, not minutes: the outcome, not the backoff schedule, is tested.
    """
    count = 300
    _issue(count)
    with transaction() as session:
        emails = sorted(session.scalars(select(Subscriber.email)).all())
    refused = set(emails[:: len(emails) // 3][:3])  # 1 %
    rig.sink.reject(refused)
    rig.sink.fail_transient_for(seconds=10.0)
    monkeypatch.setenv("NEWSLETTER_RETRY_BASE_SECONDS", "2")
    reset_settings()
    rig.start_worker(retry_base_seconds="2")
    rig.tick_loop()
    storm_ends = time.monotonic() + 10.0
    good = count - len(refused)
    wait_until(lambda: rig.sink.received >= good and ledger().get("sent", 0) >= good, timeout=50)
    took = time.monotonic() - storm_ends
    wait_until(lambda: ledger().get("bounced", 0) >= len(refused), timeout=20)
    assert rig.sink.refused > 0
    counts = recipients(rig.sink.messages)
    assert set(counts) == set(emails) - refused and set(counts.values()) == {1}
    assert ledger() == {"sent": good, "bounced": len(refused)}
    with transaction() as session:
        statuses = dict(session.execute(select(Subscriber.email, Subscriber.status)).all())
        bounced = session.scalars(select(Delivery.last_error).where(Delivery.status == "bounced"))
        assert all(error.startswith("bounced: 550") for error in bounced)
    assert {statuses[e] for e in refused} == {"bounced"}  # suppressed: never mailed again
    print(f"421 storm: all {good} delivered {took:.1f} s after it ended")
