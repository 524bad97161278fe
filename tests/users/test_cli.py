"""`newsletter users …` through the real Typer app."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.core.db.session import transaction
from newsletter.core.errors import Conflict
from newsletter.users import service as users
from newsletter.users import sessions
from tests.support.cli import fails, ok
from tests.support.factories import api_token, make_account

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


def test_users_add_with_password_stdin_and_token(series):
    result = runner.invoke(
        app,
        ["users", "add", "Ed@Example.com", "--role", "editor", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    with transaction() as session:
        assert users.authenticate(session, "ed@example.com", "a long enough password")
    token = runner.invoke(app, ["users", "token", "ed@example.com"])
    assert token.exit_code == 0 and token.output.startswith("nlt_")
    with transaction() as session:
        assert users.user_for_token(session, token.output.strip()).email == "ed@example.com"
    listing = runner.invoke(app, ["users", "list"])
    assert "ed@example.com" in listing.output


def test_users_add_prompts_twice(series):
    result = runner.invoke(
        app,
        ["users", "add", "op@example.com", "--role", "operator"],
        input="another password\nanother password\n",
    )
    assert result.exit_code == 0, result.output
    assert "another password" not in result.output


def test_users_add_mistakes_are_user_errors(series):
    weak = runner.invoke(
        app,
        ["users", "add", "a@example.com", "--role", "editor", "--password-stdin"],
        input="short\n",
    )
    assert isinstance(weak.exception, users.WeakPassword)
    role = runner.invoke(
        app,
        ["users", "add", "a@example.com", "--role", "boss", "--password-stdin"],
        input="long enough password\n",
    )
    assert "unknown role" in str(role.exception)


# -- disable, enable, passwd, tokens, revoke-token, logout-all, sessions, audit -----------


def _start_session(email: str) -> str:
    with transaction() as session:
        _, token = sessions.start(session, users.get_user(session, email), "pytest")
    return token


def _live(token: str) -> bool:
    with transaction() as session:
        return sessions.resolve(session, token) is not None


def test_disable_and_enable(db, cheap_password_hashing):
    make_account("admin")
    editor = make_account("editor")
    browser, token = _start_session(editor.email), api_token(editor)
    assert "1 session(s) signed out" in ok("users", "disable", "EDITOR@example.com")
    assert not _live(browser)
    with transaction() as session:
        assert users.user_for_token(session, token) is None
    assert "disabled" in ok("users", "list")
    ok("users", "enable", editor.email)
    with transaction() as session:
        assert users.user_for_token(session, token) is not None


def test_the_last_admin_cannot_be_disabled_exit_2(db, cheap_password_hashing):
    make_account("admin")
    result = runner.invoke(app, ["users", "disable", "admin@example.com"])
    assert result.exit_code != 0 and isinstance(result.exception, Conflict)
    assert result.exception.exit_code == 2 and "last enabled admin" in str(result.exception)
    assert "no console account" in fails("users", "disable", "nobody@example.com")


def test_passwd_prompts_twice_or_reads_stdin_and_ends_sessions(db, cheap_password_hashing):
    editor = make_account("editor")
    browser = _start_session(editor.email)
    result = runner.invoke(
        app, ["users", "passwd", editor.email], input="first password\nfirst password\n"
    )
    assert result.exit_code == 0, result.output
    assert "1 session(s) signed out" in result.output and "first password" not in result.output
    assert not _live(browser)
    result = runner.invoke(
        app, ["users", "passwd", editor.email, "--password-stdin"], input="second password\n"
    )
    assert result.exit_code == 0, result.output
    with transaction() as session:
        assert users.authenticate(session, editor.email, "second password") is not None
    weak = runner.invoke(
        app, ["users", "passwd", editor.email, "--password-stdin"], input="short\n"
    )
    assert isinstance(weak.exception, users.WeakPassword)


def test_tokens_list_and_revoke(db, cheap_password_hashing):
    editor = make_account("editor")
    first, second = api_token(editor), api_token(editor)
    listed = json.loads(ok("users", "tokens", editor.email, "--json"))
    assert [sorted(t) for t in listed] == [["created_at", "id", "last_used_at", "revoked_at"]] * 2
    assert all(t["revoked_at"] is None for t in listed)
    ok("users", "revoke-token", str(listed[0]["id"]))
    with transaction() as session:
        assert users.user_for_token(session, first) is None
        assert users.user_for_token(session, second) is not None
    listed = json.loads(ok("users", "tokens", editor.email, "--json"))
    assert listed[0]["revoked_at"].endswith("Z") and listed[1]["revoked_at"] is None
    table = ok("users", "tokens", editor.email)
    assert first not in table and second not in table
    assert "no API token" in fails("users", "revoke-token", "999")


def test_logout_all_and_sessions(db, cheap_password_hashing):
    editor = make_account("editor")
    browsers = [_start_session(editor.email) for _ in range(2)]
    assert "pytest" in ok("users", "sessions", editor.email)
    assert "2 session(s) signed out" in ok("users", "logout-all", editor.email)
    assert not any(_live(b) for b in browsers)


def test_audit_shows_and_exports_cli_changes(db, cheap_password_hashing):
    editor = make_account("editor")
    ok("users", "disable", editor.email)
    ok("users", "enable", editor.email)
    table = ok("audit")
    assert "user.disable" in table and "user.enable" in table and "cli" in table
    exported = json.loads(ok("audit", "--json", "--action", "user.disable"))
    assert [(e["action"], e["auth"], e["target"]) for e in exported] == [
        ("user.disable", "cli", {"user_id": editor.id})
    ]
    rows = list(csv.DictReader(io.StringIO(ok("audit", "--csv", "--since", "2000-01-01"))))
    assert [r["action"] for r in rows] == ["user.disable", "user.enable", "audit.export"]
    assert json.loads(ok("audit", "--json", "--since", "2999-01-01T00:00+01:00")) == []
    assert "--since" in fails("audit", "--since", "yesterday")
    assert "choose one" in fails("audit", "--json", "--csv")
    assert "no console account" in fails("audit", "--actor", "nobody@example.com")
