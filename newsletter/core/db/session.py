"""Engine and session handling for SQLite (default) and PostgreSQL.

SQLite gets WAL and foreign keys on every connection, and a busy timeout so that a worker
and the CLI can share one file. Everything that opens a transaction goes through
`transaction()`: one unit of work, committed or rolled back as a whole.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from newsletter.core.settings import get_settings


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


_ENGINES: dict[str, Engine] = {}


def get_engine() -> Engine:
    url = get_settings().resolved_database_url
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = make_engine(url)
    return engine


def dispose_engines() -> None:
    """Drop cached engines (after a fork, or when tests switch databases)."""
    while _ENGINES:
        _, engine = _ENGINES.popitem()
        engine.dispose()


def session_factory() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextlib.contextmanager
def transaction() -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with session_factory().begin() as session:
        yield session


def after_commit(session: Session, callback: Callable[[], object]) -> None:
    """Run `callback` once `session` has committed; never if it rolls back.

    Tasks are enqueued through this so a worker can never see a row that is not committed
    yet, nor a task for a row whose transaction failed.
    """

    def _fire(_session: Session) -> None:
        callback()

    def _forget(_session: Session, _previous: object = None) -> None:
        if event.contains(session, "after_commit", _fire):
            event.remove(session, "after_commit", _fire)

    event.listen(session, "after_commit", _fire, once=True)
    event.listen(session, "after_soft_rollback", _forget, once=True)
