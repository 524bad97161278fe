"""The db / series / subscribers commands through Typer's CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.core.db.models import Subscriber
from newsletter.core.db.session import transaction
from newsletter.core.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ROOT / "content" / "tech-labor-and-ai"
runner = CliRunner()


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def fails(*args: str) -> str:
    """A user mistake: a UserError with a one-line message (main() prints it, exit 2)."""
    result = runner.invoke(app, list(args))
    assert result.exit_code != 0
    assert isinstance(result.exception, UserError), result.exception
    message = str(result.exception)
    assert message and "\n" not in message
    return message


@pytest.fixture
def labor(db, clock, sent) -> str:
    ok(
        "series", "create", "tal", "--from", str(CONTENT), "--cadence", "weekly",
        "--start", "2026-12-01T09:00", "--tz", "Europe/Berlin", "--mode", "broadcast",
    )  # fmt: skip
    return "tal"


def test_series_create_show_list(labor) -> None:
    shown = ok("series", "show", labor)
    assert "2026-12-01 09:00 CET" in shown and "scheduled" in shown
    assert "tal" in ok("series", "list")
    ok("series", "pause", labor)
    assert "paused" in ok("series", "list")
    ok("series", "resume", labor)
    moved = ok("series", "reschedule", labor, "--part", "2", "--at", "2026-12-09T10:00")
    assert "2026-12-09 10:00 CET" in moved and "2026-12-16 10:00 CET" in moved


def test_series_bad_input(labor) -> None:
    assert "already exists" in fails(
        "series", "create", "tal", "--from", str(CONTENT), "--cadence", "weekly",
        "--start", "2026-12-01T09:00",
    )  # fmt: skip
    assert "not a date-time" in fails(
        "series", "create", "x", "--from", str(CONTENT), "--cadence", "weekly", "--start", "soon"
    )
    assert "unknown cadence" in fails(
        "series", "create", "x", "--from", str(CONTENT), "--cadence", "often",
        "--start", "2026-12-01T09:00",
    )  # fmt: skip
    assert "no series" in fails("series", "show", "nope")


def test_subscribers_add_list_export_remove(labor, sent, tmp_path) -> None:
    assert "added" in ok("subscribers", "add", "Ana@Example.com", "--series", labor,
                         "--name", "Ana", "--confirmed")  # fmt: skip
    ok("subscribers", "add", "ben@example.com", "--series", labor)
    assert len(sent) == 1
    listed = ok("subscribers", "list", "--series", labor, "--status", "active")
    assert "Ana@example.com" in listed and "ben@" not in listed
    rows = json.loads(ok("subscribers", "export", "--format", "json"))
    assert [(r["email"], r["status"], r["series"]) for r in rows] == [
        ("Ana@example.com", "active", "tal:active"),
        ("ben@example.com", "pending", "tal:pending"),
    ]
    out = tmp_path / "subs.csv"
    ok("subscribers", "export", "--status", "pending", "--out", str(out))
    assert out.read_text().splitlines()[1].startswith(f"{rows[1]['id']},ben@example.com,")
    person = json.loads(ok("subscribers", "export", "--email", "ANA@example.com"))
    assert person["subscriber"]["name"] == "Ana"
    assert "erased 1" in ok("subscribers", "remove", "--status", "pending", "--yes")
    with transaction() as session:
        assert session.scalar(select(func.count()).where(Subscriber.email.is_not(None))) == 1
    assert "name an EMAIL" in fails("subscribers", "remove")
    assert "unknown status" in fails("subscribers", "list", "--status", "sleeping")
    assert "unknown format" in fails("subscribers", "export", "--format", "xml")
    assert "line breaks" in fails("subscribers", "add", "c@example.com", "--series", labor,
                                  "--name", "C\r\nBcc: x@example.com")  # fmt: skip
    assert "invalid email" in fails("subscribers", "add", "nope", "--series", labor)


def test_subscribers_import(labor, sent, tmp_path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("email,name\na@example.com,A\n\nbad,B\na@example.com,A2\n", encoding="utf-8")
    output = ok("subscribers", "import", str(path), "--series", labor, "--confirmed")
    assert "line 3: empty line" in output and "line 4: invalid email" in output
    assert "line 5: duplicate of line 2" in output and "imported 1, skipped 3" in output
    path.write_bytes(b"email\n\xff@example.com\n")
    assert "not UTF-8" in fails("subscribers", "import", str(path), "--series", labor)
    path.write_text("email\nz@example.com\n", encoding="utf-8")
    output = ok("subscribers", "import", str(path), "--series", labor)
    assert "imported 1, skipped 0, 1 confirmation mails queued" in output and len(sent) == 1


def test_db_commands_and_stale_schema_refusal(tmp_path, monkeypatch) -> None:
    from newsletter.core.db.session import dispose_engines
    from newsletter.core.settings import reset_settings

    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    reset_settings()
    dispose_engines()
    assert "newsletter db upgrade" in fails("series", "list")
    assert "out of date" in ok("db", "current")
    ok("db", "upgrade")
    assert "up to date" in ok("db", "current")
    ok("db", "downgrade")
    assert "newsletter db upgrade" in fails("subscribers", "list")
    ok("db", "downgrade", "base")
    ok("db", "upgrade")
    assert "no series yet" in ok("series", "list")


def test_user_errors_are_one_line_on_stderr_with_exit_2(tmp_path) -> None:
    env = {"NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "PATH": "/usr/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "newsletter", "series", "list"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "newsletter db upgrade" in proc.stderr
