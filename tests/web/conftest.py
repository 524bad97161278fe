"""Fixtures for the web tests: an app client, console users, a small series, captured mail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from newsletter.core.db.models import utcnow
from newsletter.core.db.session import transaction
from newsletter.subscribers import tasks
from newsletter.users import service as users
from newsletter.web import throttle
from newsletter.web.application import create_app
from tests.support.factories import make_series


@pytest.fixture(autouse=True)
def _web_defaults(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No padding delay on /subscribe (a timing test sets it back) and fresh rate counts."""
    monkeypatch.setenv("NEWSLETTER_SIGNUP_MIN_SECONDS", "0")
    throttle.reset_local()
    yield
    throttle.reset_local()


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production argon2 parameters cost ~0.5 s a hash here; tests need only the logic."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_hasher", cheap)
    monkeypatch.setattr(users, "_DUMMY_HASH", cheap.hash("dummy"))


@pytest.fixture(autouse=True)
def _private_celery_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker pings go through a throwaway Celery app here: pinging through the shared one
    with this test's broker would leave it bound to that broker for later tests."""
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


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="http://testserver") as test_client:
        yield test_client


@dataclass
class Sent:
    calls: list[tuple[int, int]]


@pytest.fixture
def confirmations(monkeypatch: pytest.MonkeyPatch) -> Sent:
    """Capture confirmation mails instead of sending them: (subscriber_id, series_id)."""
    sent = Sent([])
    monkeypatch.setattr(tasks, "queue_confirmation", lambda sub, ser: sent.calls.append((sub, ser)))
    return sent


@pytest.fixture
def series(sqlite_db: str) -> str:
    """A three-part broadcast series; part 1 already went out. Returns the slug."""
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
