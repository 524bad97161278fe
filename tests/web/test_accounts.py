"""The admins' account pages: list, disable/enable, set a password, end sessions, revoke
tokens. Role-checked and CSRF-protected like every console form (see test_access for the
403s of every route); the rules themselves are tested in tests/users/test_admin.py."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from newsletter.core.db.session import transaction
from newsletter.users.models import ApiToken, User, WebSession
from newsletter.web.application import create_app
from newsletter.web.auth import COOKIE
from tests.support.console import login
from tests.support.factories import PASSWORD, Account, api_token, make_account


def _signed_in(account: Account) -> TestClient:
    other = TestClient(create_app(), base_url="http://testserver")
    login(other, account)
    return other


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_the_account_list_and_page_show_no_secrets(client, series):
    boss = make_account("admin")
    editor = make_account("editor")
    token = api_token(editor)
    _signed_in(editor)
    login(client, boss)
    listing = client.get("/admin/users")
    assert listing.status_code == 200
    assert (
        f'href="/admin/users/{editor.id}"' in listing.text and "editor@example.com" in listing.text
    )
    page = client.get(f"/admin/users/{editor.id}")
    assert page.status_code == 200
    with transaction() as session:
        hashes = [t.token_hash for t in session.scalars(select(ApiToken))]
        hashes += [s.token_hash for s in session.scalars(select(WebSession))]
        password_hash = session.get(User, editor.id).password_hash
    for secret in (token, *hashes, password_hash, PASSWORD):
        assert secret not in page.text
    assert "live" in page.text and "Revoke" in page.text
    assert client.get("/admin/users/999").status_code == 404
    assert client.get("/admin/users/abc").status_code == 400


def test_disable_and_enable_from_the_console(client, series):
    boss = make_account("admin")
    editor = make_account("editor")
    headers = _bearer(api_token(editor))
    theirs = _signed_in(editor)
    token = login(client, boss)
    page = client.post(f"/admin/users/{editor.id}/disable", data={"csrf_token": token})
    assert page.status_code == 200 and "Account disabled" in page.text
    assert theirs.get("/admin/series", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/series", headers=headers).status_code == 401
    page = client.post(f"/admin/users/{editor.id}/enable", data={"csrf_token": token})
    assert "Account enabled" in page.text
    assert client.get("/api/v1/series", headers=headers).status_code == 200  # not revoked


def test_the_last_admin_cannot_disable_themselves(client, series):
    boss = make_account("admin")
    token = login(client, boss)
    response = client.post(f"/admin/users/{boss.id}/disable", data={"csrf_token": token})
    assert response.status_code == 409 and "last enabled admin" in response.text
    assert client.get("/admin/users").status_code == 200  # still signed in, still admin


def test_an_admin_disabling_themselves_is_signed_out(client, series):
    boss = make_account("admin")
    make_account("admin", "second@example.com")
    token = login(client, boss)
    response = client.post(
        f"/admin/users/{boss.id}/disable", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.headers["location"] == "/admin/login"
    client.cookies.clear()
    assert client.get("/admin/users", follow_redirects=False).status_code == 303


def test_set_a_password_and_sign_out_everywhere(client, series):
    boss = make_account("admin")
    editor = make_account("editor")
    theirs = _signed_in(editor)
    saved = theirs.cookies[COOKIE]
    token = login(client, boss)
    mismatch = client.post(
        f"/admin/users/{editor.id}/password",
        data={"csrf_token": token, "password": "x" * 12, "confirm": "y" * 12},
    )
    assert mismatch.status_code == 400
    assert theirs.get("/admin/series").status_code == 200
    page = client.post(
        f"/admin/users/{editor.id}/password",
        data={"csrf_token": token, "password": "new password here", "confirm": "new password here"},
    )
    assert "Password set" in page.text
    theirs.cookies.clear()
    theirs.cookies.set(COOKIE, saved)
    assert theirs.get("/admin/series", follow_redirects=False).status_code == 303
    login(theirs, Account(editor.id, editor.email, "editor", "new password here"))
    page = client.post(f"/admin/users/{editor.id}/logout-all", data={"csrf_token": token})
    assert "Every session of the account has been signed out" in page.text
    assert theirs.get("/admin/series", follow_redirects=False).status_code == 303


def test_end_one_session_and_revoke_a_token(client, series):
    boss = make_account("admin")
    editor = make_account("editor")
    theirs = _signed_in(editor)
    headers = _bearer(api_token(editor))
    token = login(client, boss)
    with transaction() as session:
        session_id = session.scalar(select(WebSession.id).where(WebSession.user_id == editor.id))
        token_id = session.scalar(select(ApiToken.id).where(ApiToken.user_id == editor.id))
    wrong_owner = client.post(
        f"/admin/users/{boss.id}/sessions/{session_id}/revoke", data={"csrf_token": token}
    )
    assert wrong_owner.status_code == 404
    page = client.post(
        f"/admin/users/{editor.id}/sessions/{session_id}/revoke", data={"csrf_token": token}
    )
    assert "That session is signed out" in page.text
    assert theirs.get("/admin/series", follow_redirects=False).status_code == 303
    wrong_owner = client.post(
        f"/admin/users/{boss.id}/tokens/{token_id}/revoke", data={"csrf_token": token}
    )
    assert wrong_owner.status_code == 404
    assert client.get("/api/v1/series", headers=headers).status_code == 200
    page = client.post(
        f"/admin/users/{editor.id}/tokens/{token_id}/revoke", data={"csrf_token": token}
    )
    assert "Token revoked" in page.text and "revoked" in page.text
    assert client.get("/api/v1/series", headers=headers).status_code == 401


def test_account_forms_need_the_csrf_token(client, series):
    boss = make_account("admin")
    editor = make_account("editor")
    login(client, boss)
    assert client.post(f"/admin/users/{editor.id}/disable").status_code == 403
    with transaction() as session:
        assert session.get(User, editor.id).disabled_at is None


def test_admins_see_accounts_and_audit_in_the_navigation(client, series):
    login(client, make_account("admin"))
    page = client.get("/admin/series")
    assert 'href="/admin/users"' in page.text and 'href="/admin/audit"' in page.text
    other = _signed_in(make_account("operator"))
    page = other.get("/admin/queue")
    assert 'href="/admin/users"' not in page.text and 'href="/admin/account"' in page.text
