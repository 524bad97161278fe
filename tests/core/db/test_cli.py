"""`newsletter db …`, and every other command refusing a stale schema."""

from __future__ import annotations

from tests.support.cli import fails, ok


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
