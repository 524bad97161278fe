"""Who may do what: every /admin and /api route, enumerated from the app itself.

A route added later without a role tag fails `test_every_protected_route_declares_a_role`;
one whose dependency is missing fails the 401 / 403 checks. Semantics: browser GETs of
console pages without a session are redirected (303) to the login page; everything else
(non-GET, JSON clients, the API) gets 401; a valid login with the wrong role gets 403.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts

from newsletter.core.db.session import transaction
from newsletter.core.settings import reset_settings
from newsletter.users import admin
from newsletter.users.audit import Actor
from newsletter.users.models import User
from newsletter.web.application import create_app
from newsletter.web.auth import COOKIE
from tests.support.console import csrf_of, login
from tests.support.factories import PASSWORD, Account, api_token, make_account

PARAMS = {
    "slug": "labor",
    "number": "1",
    "issue_id": "1",
    "token": "x",
    "user_id": "1",
    "session_id": "1",
    "token_id": "1",
    "subscriber_id": "1",
    "draft_id": "1",
    "form": "block",
}
PROTECTED_TAGS = {
    "console:editor",
    "console:operator",
    "console:admin",
    "console:any",
    "api:editor",
    "api:operator",
    "api:admin",
}
WRONG_ROLE = {
    "console:editor": "operator",
    "console:operator": "editor",
    "console:admin": "operator",
    "api:editor": "operator",
    "api:operator": "editor",
    "api:admin": "operator",
}
ANY_STAFF = {  # every console role may use these: sign-out, their own account, help
    "/admin",
    "/admin/logout",
    "/admin/account",
    "/admin/account/password",
    "/admin/account/logout-all",
    "/admin/account/sessions/1/revoke",
    "/admin/schedule",
    "/admin/help/manuscript",
}


def _protected_routes() -> list[tuple[str, str, str]]:
    routes = []
    for route in iter_route_contexts(create_app().routes):
        path = route.path
        if not path.startswith(("/admin", "/api")):
            continue
        tags = set(getattr(route, "tags", None) or [])
        if "console:public" in tags:
            continue
        (tag,) = tags & PROTECTED_TAGS or {"<none>"}
        for method in sorted(route.methods or []):
            if method != "HEAD":
                url = re.sub(r"{(\w+)}", lambda m: PARAMS[m.group(1)], path)
                routes.append((method, url, tag))
    return routes


ROUTES = _protected_routes()


def test_route_list_is_complete():
    urls = {url for _, url, _ in ROUTES}
    assert {"/admin/queue", "/admin/series/labor", "/api/v1/stats", "/api/v1/series"} <= urls
    assert len(ROUTES) >= 20


@pytest.mark.parametrize(("method", "url", "tag"), ROUTES)
def test_every_protected_route_declares_a_role(method, url, tag):
    assert tag in PROTECTED_TAGS, f"{method} {url} has no role tag"
    if tag == "console:any":
        assert url in ANY_STAFF


@pytest.mark.parametrize(("method", "url", "tag"), ROUTES)
def test_without_credentials(client, series, method, url, tag):
    response = client.request(method, url, follow_redirects=False)
    if tag.startswith("api:"):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {"detail": "Please sign in first."}
    elif method == "GET":
        assert response.status_code == 303
        assert response.headers["location"].startswith("/admin/login?next=")
        as_json = client.request(method, url, headers={"accept": "application/json"})
        assert as_json.status_code == 401
    else:
        assert response.status_code == 401


@pytest.mark.parametrize(("method", "url", "tag"), ROUTES)
def test_garbage_credentials_are_401(client, series, method, url, tag):
    client.cookies.set(COOKIE, "forged.cookie.value")
    headers = {"authorization": "Bearer nlt_forged", "accept": "application/json"}
    response = client.request(method, url, headers=headers, follow_redirects=False)
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "url", "tag"), [r for r in ROUTES if r[2] in WRONG_ROLE])
def test_wrong_role_is_403(client, series, method, url, tag):
    account = make_account(WRONG_ROLE[tag])
    if tag.startswith("api:"):
        headers = {"authorization": f"Bearer {api_token(account)}"}
        response = client.request(method, url, headers=headers)
    else:
        token = login(client, account)
        data = {"csrf_token": token} if method == "POST" else None
        response = client.request(method, url, data=data, follow_redirects=False)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("method", "url", "tag"), [r for r in ROUTES if r[0] == "GET" and r[2] in WRONG_ROLE]
)
def test_admin_role_may_read_everything(client, series, method, url, tag):
    account = make_account("admin")
    if tag.startswith("api:"):
        response = client.get(url, headers={"authorization": f"Bearer {api_token(account)}"})
    else:
        login(client, account)
        response = client.get(url, follow_redirects=False)
    assert response.status_code not in (401, 403), response.text


def test_a_console_session_is_not_an_api_credential(client, series):
    login(client, make_account("admin"))
    assert client.get("/api/v1/series").status_code == 401


def test_login_redirects_to_next_and_sets_a_safe_cookie(client, series):
    make_account("editor")
    page = client.get("/admin/login?next=/admin/series/labor")
    token = csrf_of(client)
    assert 'name="next" value="/admin/series/labor"' in page.text
    response = client.post(
        "/admin/login",
        data={
            "email": "EDITOR@example.com",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/admin/series/labor",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/admin/series/labor"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert client.get("/admin/series/labor").status_code == 200
    assert client.get("/admin", follow_redirects=False).headers["location"] == "/admin/series"


def test_cookie_is_secure_behind_https(client, series, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_BASE_URL", "https://news.example.com")
    reset_settings()
    response = client.get("/admin/login")
    assert "secure" in response.headers["set-cookie"].lower()


def test_open_redirect_is_refused(client, series):
    account = make_account("operator")
    for target in ("//evil.example", "https://evil.example", "/elsewhere"):
        client.get("/admin/login")
        data = {"email": account.email, "password": PASSWORD, "csrf_token": csrf_of(client)}
        response = client.post(
            "/admin/login", data={**data, "next": target}, follow_redirects=False
        )
        assert response.headers["location"] == "/admin"


def test_wrong_password_and_unknown_email_look_the_same(client, series):
    make_account("editor")
    client.get("/admin/login")
    token = csrf_of(client)
    answers = []
    for email, password in (("editor@example.com", "wrong password!"), ("who@example.com", "x")):
        response = client.post(
            "/admin/login", data={"email": email, "password": password, "csrf_token": token}
        )
        answers.append((response.status_code, "Email or password is not right." in response.text))
    assert answers == [(401, True), (401, True)]


def test_login_needs_the_csrf_token(client, series):
    make_account("editor")
    client.get("/admin/login")
    response = client.post(
        "/admin/login", data={"email": "editor@example.com", "password": PASSWORD}
    )
    assert response.status_code == 403


def test_console_post_without_or_with_a_wrong_csrf_token_is_rejected(client, series):
    token = login(client, make_account("editor"))
    assert client.post("/admin/series/labor/pause").status_code == 403
    assert (
        client.post("/admin/series/labor/pause", data={"csrf_token": "x" * 64}).status_code == 403
    )
    header = client.post("/admin/series/labor/pause", headers={"x-csrf-token": token})
    assert header.status_code == 200  # followed the 303 to the series page
    assert "Series paused" in header.text


def test_csrf_token_changes_at_login(client, series):
    client.get("/admin/login")
    before = csrf_of(client)
    after = login(client, make_account("editor"))
    assert before != after


def test_logout_ends_the_session(client, series):
    token = login(client, make_account("editor"))
    response = client.post("/admin/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/admin/series", follow_redirects=False).status_code == 303


def test_password_change_ends_other_sessions(client, series):
    account = make_account("editor")
    login(client, account)
    with transaction() as session:
        admin.set_password(session, Actor.cli(), account.id, "another password!")
    assert client.get("/admin/series", follow_redirects=False).status_code == 303


def test_disabled_accounts_cannot_use_tokens(client, series):
    account: Account = make_account("operator")
    token = api_token(account)
    headers = {"authorization": f"Bearer {token}"}
    assert client.get("/api/v1/stats", headers=headers).status_code == 200
    with transaction() as session:
        from newsletter.core.db.models import utcnow

        session.get(User, account.id).disabled_at = utcnow()
    assert client.get("/api/v1/stats", headers=headers).status_code == 401


def test_login_is_rate_limited(client, series, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_LOGIN_RATE_LIMIT", "2")
    reset_settings()
    client.get("/admin/login")
    token = csrf_of(client)
    codes = [
        client.post(
            "/admin/login", data={"email": "a@example.com", "password": "x", "csrf_token": token}
        ).status_code
        for _ in range(3)
    ]
    assert codes == [401, 401, 429]
