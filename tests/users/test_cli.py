"""`newsletter users …` through the real Typer app."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.core.db.session import transaction
from newsletter.users import service as users

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
