"""One engine per database URL per process, and the unit of work.

Everything that opens a transaction goes through `transaction()`: one unit of work,
committed or rolled back as a whole. How each backend's engine is set up is the dialect
module's business (`dialect.make_engine`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from newsletter.core.db import dialect
from newsletter.core.settings import get_settings

_ENGINES: dict[str, Engine] = {}


def get_engine() -> Engine:
    url = get_settings().resolved_database_url
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = dialect.make_engine(url)
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
