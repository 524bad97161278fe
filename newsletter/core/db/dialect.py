"""The one module that knows which database it is talking to.

Everything else asks here instead of comparing dialect names itself. We support SQLite
(≥ 3.35) and PostgreSQL; both have `INSERT … ON CONFLICT DO NOTHING` and `UPDATE …
RETURNING`, so most statements are the same on either and only a few spots differ:
row locking (`FOR UPDATE SKIP LOCKED`), date truncation, the DBAPI parameter style and how
SQLite stores a DateTime as text.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Integer,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    literal,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement, Grouping

Bind = Session | Connection | Engine

SUPPORTED = ("postgresql", "sqlite")


# Integer primary keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def is_sqlite_url(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str) -> Engine:
    """An engine with each backend's settings.

    SQLite gets WAL, foreign keys, NORMAL sync and a busy timeout on every connection, so a
    worker and the CLI can share one file; PostgreSQL gets a checked, bounded pool.
    """
    if not is_sqlite_url(url):
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    database = make_url(url).database
    if database and database != ":memory:":
        _private_file(Path(database))
    engine = create_engine(url, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _private_file(path: Path) -> None:
    """Create the SQLite file (and its folder) readable by the service user only.

    It holds every address; SQLite would create it 0644. Its -wal and -shm files take the
    database file's mode. An existing file is left as the admin set it.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _sqlite_pragmas(dbapi_conn: Any, _record: object) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def name(bind: Bind) -> str:
    """`postgresql` or `sqlite` for a session, connection or engine."""
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    if dialect.name not in SUPPORTED:  # pragma: no cover - guarded at engine creation
        raise NotImplementedError(f"unsupported database {dialect.name!r}")
    return dialect.name


def is_postgres(bind: Bind) -> bool:
    return name(bind) == "postgresql"


def insert(bind: Bind, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's own INSERT construct (it has `on_conflict_do_nothing`)."""
    return (postgresql.insert if is_postgres(bind) else sqlite.insert)(table)


def insert_ignoring_conflicts(
    bind: Bind, table: Table, *columns: str
) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that silently skips rows violating the UNIQUE(`columns`) constraint."""
    # preserve_rowcount: SQLAlchemy only keeps cursor.rowcount for UPDATE/DELETE by default.
    return (
        insert(bind, table)
        .on_conflict_do_nothing(index_elements=list(columns))
        .execution_options(preserve_rowcount=True)
    )


def minute(bind: Bind, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """`column` truncated to the minute, in SQL (read back with `parse_minute`)."""
    if is_postgres(bind):
        return func.date_trunc("minute", column)
    return func.strftime("%Y-%m-%d %H:%M:00", column)


def parse_minute(value: dt.datetime | str) -> dt.datetime:
    """A `minute()` value as naive UTC, whichever backend produced it."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return dt.datetime.fromisoformat(value)


def paramstyle(bind: Bind) -> str:
    """The DBAPI placeholder for hand-written SQL on a raw cursor (`%s` or `?`)."""
    return "%s" if is_postgres(bind) else "?"


def datetime_param(bind: Bind) -> Callable[[dt.datetime], dt.datetime | str]:
    """How to pass a naive UTC datetime as a raw-cursor parameter, stored exactly as
    SQLAlchemy would: asked once per connection, applied per message.

    SQLite has no datetime type; SQLAlchemy's DateTime writes this text, and reads and
    comparisons depend on every writer using the same format.
    """
    if is_postgres(bind):
        return lambda value: value
    return lambda value: value.strftime("%Y-%m-%d %H:%M:%S.%f")


def any_of(column: ColumnElement[Any], param: str) -> ColumnElement[bool]:
    """PostgreSQL only: `column = ANY(CAST(:param AS BIGINT[]))`, an index lookup by key
    for a list of ids that the planner cannot turn into a scan."""
    return column == any_(cast(bindparam(param), postgresql.ARRAY(BigInteger)))


def item_at(values: str, keys: str, key: ColumnElement[Any]) -> ColumnElement[Any]:
    """PostgreSQL only: `(CAST(:values AS TEXT[]))[array_position(CAST(:keys AS BIGINT[]),
    key)]`, the value paired with `key` in two parallel bound lists."""
    position = func.array_position(cast(bindparam(keys), postgresql.ARRAY(BigInteger)), key)
    # Parenthesised: PostgreSQL only subscripts a cast inside a group.
    array = type_coerce(
        Grouping(cast(bindparam(values), postgresql.ARRAY(Text))), postgresql.ARRAY(Text)
    )
    return array[position]


def ids_in(bind: Bind, column: ColumnElement[Any], ids: list[int]) -> ColumnElement[bool]:
    """`column IN ids` for a large id list: one array parameter on PostgreSQL (`= ANY`),
    which costs nothing to compile or plan per id; an expanding IN on SQLite (callers keep
    lists below its bound-parameter limit)."""
    if is_postgres(bind):
        return column == any_(literal(ids, postgresql.ARRAY(BigInteger)))
    return column.in_(ids)
