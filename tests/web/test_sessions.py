"""Console sessions live server side: whatever ends one ends it at the next request.

Each test keeps a copy of the session cookie from before the event and shows that the copy
opens nothing afterwards (a signed cookie alone would have worked for up to 12 hours).
Both databases: the session table is where the answer comes from.
"""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from newsletter.core.db.session import transaction
from newsletter.users import admin
from newsletter.users.audit import Actor
from newsletter.users.models import WebSession
from newsletter.web.application import create_app
from newsletter.web.auth import COOKIE
from tests.support.console import csrf_of, login
from tests.support.factories import PASSWORD, make_account

pytestmark = pytest.mark.usefixtures("db")


def _opens_console(client: TestClient, cookie: str) -> bool:
    """Does this cookie value, replayed, open a console page?"""
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    return client.get("/admin/series", follow_redirects=False).status_code == 200


def _second_browser(account) -> tuple[TestClient, str]:
    other = TestClient(create_app(), base_url="http://testserver")
    other.headers["user-agent"] = "Second Browser/1.0"
    login(other, account)
    return other, other.cookies[COOKIE]


def test_a_cookie_saved_before_logout_opens_nothing_after_it(client):
    token = login(client, make_account("editor"))
    saved = client.cookies[COOKIE]
    assert _opens_console(client, saved)
    response = client.post("/admin/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert not _opens_console(client, saved)
    with transaction() as session:
        (row,) = session.scalars(select(WebSession))
        assert row.revoked_at is not None


def test_the_table_holds_a_digest_not_the_token(client):
    login(client, make_account("editor"))
    with transaction() as session:
        (row,) = session.scalars(select(WebSession))
    assert row.token_hash not in client.cookies[COOKIE]
    assert len(row.token_hash) == 64 and row.user_agent == "testclient"


def test_disabling_ends_every_session_at_the_next_request(client):
    editor = make_account("editor")
    make_account("admin")
    login(client, editor)
    other, saved = _second_browser(editor)
    with transaction() as session:
        assert admin.disable(session, Actor.cli(), editor.id) == 2
    assert not _opens_console(client, saved)
    assert other.get("/admin/series", follow_redirects=False).status_code == 303


def test_changing_your_password_ends_your_other_sessions_only(client):
    editor = make_account("editor")
    token = login(client, editor)
    other, saved = _second_browser(editor)
    response = client.post(
        "/admin/account/password",
        data={
            "csrf_token": token,
            "current": PASSWORD,
            "password": "a brand new password",
            "confirm": "a brand new password",
        },
    )
    assert response.status_code == 200 and "Password changed" in response.text
    assert client.get("/admin/series").status_code == 200  # this browser stays signed in
    assert not _opens_console(other, saved)


def test_a_wrong_current_password_changes_nothing(client):
    editor = make_account("editor")
    token = login(client, editor)
    response = client.post(
        "/admin/account/password",
        data={
            "csrf_token": token,
            "current": "not it at all",
            "password": "x" * 12,
            "confirm": "x" * 12,
        },
    )
    assert response.status_code == 400 and "current password is not right" in response.text
    mismatch = client.post(
        "/admin/account/password",
        data={"csrf_token": token, "current": PASSWORD, "password": "x" * 12, "confirm": "y" * 12},
    )
    assert mismatch.status_code == 400 and "differ" in mismatch.text
    weak = client.post(
        "/admin/account/password",
        data={"csrf_token": token, "current": PASSWORD, "password": "short", "confirm": "short"},
    )
    assert weak.status_code == 400 and "at least 10" in weak.text
    assert client.get("/admin/series").status_code == 200


def test_sign_out_everywhere_from_the_account_page(client):
    editor = make_account("editor")
    login(client, editor)
    other, saved = _second_browser(editor)
    page = client.get("/admin/account")
    assert page.status_code == 200
    assert "Second Browser/1.0" in page.text and "this one" in page.text
    response = client.post(
        "/admin/account/logout-all", data={"csrf_token": csrf_of(client)}, follow_redirects=False
    )
    assert response.headers["location"] == "/admin/login"
    assert client.get("/admin/series", follow_redirects=False).status_code == 303
    assert not _opens_console(other, saved)


def test_ending_one_of_your_sessions(client):
    editor = make_account("editor")
    token = login(client, editor)
    other, saved = _second_browser(editor)
    with transaction() as session:
        theirs = session.scalar(
            select(WebSession.id).where(WebSession.user_agent == "Second Browser/1.0")
        )
    response = client.post(f"/admin/account/sessions/{theirs}/revoke", data={"csrf_token": token})
    assert response.status_code == 200 and "That session is signed out" in response.text
    assert not _opens_console(other, saved)
    again = client.post(f"/admin/account/sessions/{theirs}/revoke", data={"csrf_token": token})
    assert again.status_code == 404


def test_you_cannot_end_someone_elses_session(client):
    login(client, make_account("editor"))
    operator = make_account("operator")
    other, saved = _second_browser(operator)
    with transaction() as session:
        theirs = session.scalar(select(WebSession.id).where(WebSession.user_id == operator.id))
    response = client.post(
        f"/admin/account/sessions/{theirs}/revoke", data={"csrf_token": csrf_of(client)}
    )
    assert response.status_code == 404
    assert other.get("/admin/queue").status_code == 200


def test_an_expired_session_opens_nothing(client, clock):
    login(client, make_account("editor"))
    assert client.get("/admin/series").status_code == 200
    clock.advance(hours=12, seconds=1)
    assert client.get("/admin/series", follow_redirects=False).status_code == 303


def test_last_seen_is_refreshed_at_most_once_a_minute(client, clock):
    login(client, make_account("editor"))

    def last_seen() -> dt.datetime:
        with transaction() as session:
            return session.scalar(select(WebSession.last_seen_at))

    started = last_seen()
    clock.advance(seconds=30)
    client.get("/admin/series")
    assert last_seen() == started
    clock.advance(seconds=31)
    client.get("/admin/series")
    assert last_seen() == clock()
