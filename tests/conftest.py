"""Fixtures shared by every test directory (helpers that are not fixtures: tests/support/).

Database tests run against SQLite and PostgreSQL: the `db` fixture is parametrized over both.
PostgreSQL gets a fresh database per test run (dropped at the end), migrated once; each test
then starts from empty tables. Redis tests use their own DB number, flushed per test.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, update

from newsletter.content.sample import SAMPLE_MANUSCRIPT
from newsletter.core.db import models
from newsletter.core.db import session as db_session
from newsletter.core.db.migrate import upgrade
from newsletter.core.db.models import Mail, MailStatus, utcnow
from newsletter.core.db.session import transaction
from newsletter.core.settings import reset_settings
from newsletter.subscribers import tasks
from tests.support.cli import CONTENT, ok
from tests.support.clock import Clock
from tests.support.databases import empty_all_tables, throwaway_database
from tests.support.factories import add_series, make_series
from tests.support.redisdb import NoFreeRedisDb, claim_redis_db
from tests.support.smtp_sink import SmtpSink

SEED = SAMPLE_MANUSCRIPT
TEST_SECRET = "test-secret-key-not-for-production"


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own data dir and a fixed secret; no NEWSLETTER_* leaks in."""
    for key in list(os.environ):
        if key.startswith("NEWSLETTER_") and not key.startswith("NEWSLETTER_TEST_"):
            monkeypatch.delenv(key)
    data_dir = tmp_path / "var"
    monkeypatch.setenv("NEWSLETTER_DATA_DIR", str(data_dir))
    monkeypatch.setenv("NEWSLETTER_SECRET_KEY", TEST_SECRET)
    reset_settings()
    yield data_dir
    reset_settings()
    db_session.dispose_engines()


@pytest.fixture(autouse=True)
def _eager_celery_for_unit_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """Unit tests run queued tasks in-process; integration and browser tests never do.

    Tests marked `integration` or `browser` talk to a real worker subprocess over a real
    broker, which is where eager mode would hide bugs.
    """
    if request.node.get_closest_marker("integration") or request.node.get_closest_marker("browser"):
        yield
        return
    from newsletter.core.celery_app import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False


@pytest.fixture(scope="session")
def seed_path() -> Path:
    assert SEED.exists(), f"seed manuscript missing at {SEED}"
    return SEED


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, migrated to head, dropped afterwards."""
    with throwaway_database() as url:
        upgrade(url)
        yield url
        db_session.dispose_engines()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated, empty database; NEWSLETTER_DATABASE_URL points at it. Yields the URL."""
    url = request.getfixturevalue(f"{request.param}_url")
    empty_all_tables(url)
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", url)
    reset_settings()
    db_session.dispose_engines()
    yield url
    db_session.dispose_engines()


@pytest.fixture
def sqlite_db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Like `db` but SQLite only, for tests whose subject is not the database."""
    empty_all_tables(sqlite_url)
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", sqlite_url)
    reset_settings()
    db_session.dispose_engines()
    yield sqlite_url
    db_session.dispose_engines()


@pytest.fixture(scope="session")
def redis_db_url() -> Iterator[str]:
    """A Redis DB number (1-15) claimed for this test run, so parallel runs never collide."""
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(claim_redis_db())
        except NoFreeRedisDb as exc:
            pytest.fail(str(exc))
        yield url


@pytest.fixture
def redis_url(redis_db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """This run's Redis DB, flushed; also set as NEWSLETTER_REDIS_URL."""
    import redis

    client = redis.Redis.from_url(redis_db_url)
    client.flushdb()
    client.close()
    monkeypatch.setenv("NEWSLETTER_REDIS_URL", redis_db_url)
    reset_settings()
    return redis_db_url


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    """An aiosmtpd sink on 127.0.0.1; NEWSLETTER_SMTP_URL points at it."""
    with SmtpSink() as server:
        monkeypatch.setenv("NEWSLETTER_SMTP_URL", server.url)
        reset_settings()
        yield server


# -- time, series and captured mail ------------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """`models.utcnow` frozen at 2026-11-20 12:00 until the test moves it."""
    fake = Clock(dt.datetime(2026, 11, 20, 12, 0))
    monkeypatch.setattr(models, "utcnow", fake)
    return fake


@pytest.fixture
def series_id(db: str, clock: Clock) -> int:
    """The scheduling tests' broadcast series "labor" (`factories.add_series`) on both DBs."""
    return add_series()


@pytest.fixture
def serial_id(db: str, clock: Clock) -> int:
    return add_series("serial-labor", mode="serial")


@pytest.fixture
def series(sqlite_db: str) -> str:
    """A three-part weekly broadcast series "labor" in Berlin time from next week, on
    SQLite; part 1 already went out. Returns the slug."""
    with transaction() as session:
        start = (utcnow() + dt.timedelta(days=7)).replace(microsecond=0)
        make_series(
            session,
            "labor",
            3,
            published=1,
            start=start,
            cadence="weekly",
            timezone="Europe/Berlin",
        )
    return "labor"


def _woken(mail_ids: list[int]) -> list[tuple[int, int]]:
    with transaction() as session:
        rows = session.execute(
            select(Mail.subscriber_id, Mail.series_id)
            .where(Mail.id.in_(mail_ids))
            .order_by(Mail.id)
        )
        return [(sub, ser) for sub, ser in rows]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Confirmation mails woken for (after commit) as (subscriber_id, series_id); a stand-in
    worker marks their outbox rows sent at once, at the test clock's time."""
    calls: list[tuple[int, int]] = []

    def deliver(mail_ids: list[int]) -> bool:
        calls.extend(_woken(mail_ids))
        with transaction() as session:
            session.execute(
                update(Mail)
                .where(Mail.id.in_(mail_ids))
                .values(status=MailStatus.SENT, sent_at=models.utcnow())  # the test clock
            )
        return True

    monkeypatch.setattr(tasks, "wake", deliver)
    return calls


@dataclass
class Woken:
    calls: list[tuple[int, int]]


@pytest.fixture
def confirmations(monkeypatch: pytest.MonkeyPatch) -> Woken:
    """Capture the wake-ups for confirmation mails (their outbox rows stay pending), as
    (subscriber_id, series_id)."""
    woken = Woken([])

    def capture(mail_ids: list[int]) -> bool:
        woken.calls.extend(_woken(mail_ids))
        return True

    monkeypatch.setattr(tasks, "wake", capture)
    return woken


@pytest.fixture
def labor(db: str, clock: Clock, sent: list[tuple[int, int]]) -> str:
    """The shipped seed series scheduled as "tal" through `newsletter series create`."""
    ok(
        "series", "create", "tal", "--from", str(CONTENT), "--cadence", "weekly",
        "--start", "2026-12-01T09:00", "--tz", "Europe/Berlin", "--mode", "broadcast",
    )  # fmt: skip
    return "tal"


# -- users and the operator view ---------------------------------------------------------


@pytest.fixture
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production argon2 parameters cost ~0.5 s a hash here; tests need only the logic."""
    from argon2 import PasswordHasher

    from newsletter.users import service as users

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_hasher", cheap)
    monkeypatch.setattr(users, "_DUMMY_HASH", cheap.hash("dummy"))


@pytest.fixture
def private_celery_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker pings go through a throwaway Celery app: pinging through the shared one with
    this test's broker would leave it bound to that broker for later tests."""
    from celery import Celery

    from newsletter.core.celery_app import build_config
    from newsletter.core.settings import get_settings
    from newsletter.delivery import monitor

    def fresh() -> Celery:
        app = Celery("web-tests")
        app.conf.update(build_config(get_settings()))
        return app

    monkeypatch.setattr(monitor, "_celery_app", fresh)
    monkeypatch.setattr(monitor, "_workers_cache", (0.0, None))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A skipped test is a defect here, not progress: report it as a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped tests are not allowed: {report.longrepr}"
