"""The database file holds every address: it and its folder are the service user's only."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from newsletter.core.db.dialect import make_engine


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_folder_are_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "newsletter.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    assert _mode(path.parent) == 0o700
    assert _mode(path) == 0o600
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or _mode(wal) & 0o077 == 0  # SQLite copies the file's mode
    engine.dispose()


def test_an_existing_file_keeps_the_mode_its_admin_chose(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    path.touch(mode=0o640)
    path.chmod(0o640)
    make_engine(f"sqlite:///{path}").dispose()
    assert _mode(path) == 0o640
