"""The per-account sign-in throttle: failures for one account add up across client IPs.

Each attempt comes from a new client address (a fresh TestClient with its own
`request.client.host`), so the per-IP limiter never fires: only the per-account one can
refuse. Known and unknown accounts are refused alike, which is what keeps the throttle from
telling anyone which accounts exist.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from newsletter.core.db.models import Event
from newsletter.core.db.session import transaction
from newsletter.core.settings import reset_settings
from newsletter.users import audit
from newsletter.web import lockout
from newsletter.web.application import create_app
from tests.support.console import csrf_of
from tests.support.factories import PASSWORD, make_account

LIMIT = 3
_hosts = (f"198.51.100.{n}" for n in itertools.count(1))


@pytest.fixture(autouse=True)
def _small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSLETTER_LOGIN_ACCOUNT_LIMIT", str(LIMIT))
    reset_settings()


@pytest.fixture
def app_clients() -> Iterator[list[TestClient]]:
    """Every client made by `attempt`, closed at the end."""
    made: list[TestClient] = []
    yield made
    for client in made:
        client.close()


def attempt(made: list[TestClient], email: str, password: str) -> tuple[int, dict[str, str], str]:
    """One sign-in from a client address never seen before: (status, headers, page)."""
    client = TestClient(create_app(), base_url="http://testserver", client=(next(_hosts), 50000))
    made.append(client)
    client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    return response.status_code, dict(response.headers), response.text


def test_the_right_password_is_refused_while_the_account_is_locked(db, app_clients):
    account = make_account("editor")
    codes = [attempt(app_clients, account.email, "wrong password!")[0] for _ in range(LIMIT)]
    assert codes == [401] * LIMIT
    status, headers, page = attempt(app_clients, account.email, PASSWORD)
    assert status == 429
    assert 0 < int(headers["retry-after"]) <= 900
    assert "Too many sign-in attempts" in page
    assert "set-cookie" not in headers  # no session


def test_unknown_accounts_are_throttled_the_same_way(db, app_clients):
    make_account("editor")
    answers = {}
    for email in ("editor@example.com", "nobody@example.com"):
        codes = [attempt(app_clients, email, "wrong password!")[0] for _ in range(LIMIT + 1)]
        status, headers, page = attempt(app_clients, email, "still wrong!")
        answers[email] = (codes, status, "retry-after" in headers, "Too many sign-in" in page)
    assert answers["editor@example.com"] == answers["nobody@example.com"]
    assert answers["nobody@example.com"] == ([401] * LIMIT + [429], 429, True, True)


def test_spelling_an_address_differently_is_the_same_account(db, app_clients):
    account = make_account("editor")
    for email in ("editor@example.com", "EDITOR@example.com", " Editor@Example.com"):
        assert attempt(app_clients, email, "wrong password!")[0] == 401
    assert attempt(app_clients, account.email, PASSWORD)[0] == 429


def test_a_success_clears_the_count(db, app_clients):
    account = make_account("editor")
    for _ in range(LIMIT - 1):
        assert attempt(app_clients, account.email, "wrong password!")[0] == 401
    assert attempt(app_clients, account.email, PASSWORD)[0] == 303
    codes = [attempt(app_clients, account.email, "wrong password!")[0] for _ in range(LIMIT)]
    assert codes == [401] * LIMIT  # a fresh allowance, not one left


def test_other_accounts_are_not_affected(db, app_clients):
    make_account("editor")
    operator = make_account("operator")
    for _ in range(LIMIT + 1):
        attempt(app_clients, "editor@example.com", "wrong password!")
    assert attempt(app_clients, operator.email, PASSWORD)[0] == 303


def test_the_lock_is_shared_through_redis(db, redis_url, app_clients):
    """Two web processes share the count through Redis; in-process counts are not used."""
    account = make_account("editor")
    for _ in range(LIMIT):
        attempt(app_clients, account.email, "wrong password!")
    lockout.reset_local()  # nothing local to fall back on: the count is in Redis
    assert attempt(app_clients, account.email, PASSWORD)[0] == 429


def test_failures_and_the_lock_are_in_the_audit_trail(db, app_clients):
    account = make_account("editor")
    for _ in range(LIMIT + 1):
        attempt(app_clients, account.email, "wrong password!")
    with transaction() as session:
        entries = audit.oldest(session, audit.Filter(action="login"))
        raw = [e.data for e in session.scalars(select(Event).where(Event.kind == audit.KIND))]
    assert [(e.outcome, e.target) for e in entries] == [
        ("refused", {"user_id": account.id})
    ] * LIMIT
    assert [e.auth for e in entries] == ["password"] * LIMIT
    assert [e.facts for e in entries] == [{}] * (LIMIT - 1) + [{"locked": True}]
    assert "wrong password!" not in str(raw) and account.email not in str(raw)
