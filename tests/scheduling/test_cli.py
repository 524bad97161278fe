"""`newsletter series …` through Typer's CliRunner."""

from __future__ import annotations

from tests.support.cli import CONTENT, fails, ok


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


def test_series_update_and_delete(labor) -> None:
    assert "updated: from_address, from_name" in ok(
        "series", "update", labor, "--from-name", "Ed", "--from-address", "ed@example.org"
    )
    assert "not a valid address" in fails("series", "update", labor, "--reply-to", "nope")
    assert "nothing to change" in fails("series", "update", labor)
    assert "no series" in fails("series", "delete", "nope")
    assert "deleted" in ok("series", "delete", labor)
    assert "no series" in fails("series", "show", labor)
