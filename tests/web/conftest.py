"""Fixtures for the web tests: an app client, console users, a small series, captured mail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from newsletter.core.db.models import Mail
from newsletter.core.db.session import transaction
from newsletter.subscribers import tasks
from newsletter.users import service as users
from newsletter.users.models import User
from newsletter.web import throttle
from newsletter.web.application import create_app
from tests.web.factories import make_series

PASSWORD = "correct horse battery staple"


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
    """Capture the wake-ups for confirmation mails (outbox rows) instead of sending them,
    as (subscriber_id, series_id)."""
    sent = Sent([])

    def capture(mail_ids: list[int]) -> bool:
        with transaction() as session:
            rows = session.execute(
                select(Mail.subscriber_id, Mail.series_id)
                .where(Mail.id.in_(mail_ids))
                .order_by(Mail.id)
            )
            sent.calls.extend((sub, ser) for sub, ser in rows)
        return True

    monkeypatch.setattr(tasks, "wake", capture)
    return sent


@dataclass
class Account:
    id: int
    email: str
    role: str
    password: str = PASSWORD


def make_account(role: str, email: str | None = None) -> Account:
    email = email or f"{role}@example.com"
    with transaction() as session:
        user = users.create_user(session, email, PASSWORD, role)
        return Account(user.id, user.email, role)


def login(client: TestClient, account: Account) -> str:
    """Sign in through the form; returns the CSRF token of the new session."""
    page = client.get("/admin/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/admin/login",
        data={"email": account.email, "password": account.password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client)


def csrf_of(client: TestClient) -> str:
    page = client.get("/admin/login")
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def api_token(account: Account) -> str:
    with transaction() as session:
        return users.issue_token(session, session.get(User, account.id))


@pytest.fixture
def series(sqlite_db: str) -> str:
    """A three-part broadcast series; part 1 already went out. Returns the slug."""
    with transaction() as session:
        make_series(session, slug="labor", parts=3, published=1)
    return "labor"
