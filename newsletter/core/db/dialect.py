"""The one module that knows which database it is talking to.

Everything else asks here instead of comparing dialect names itself. We support SQLite
(≥ 3.35) and PostgreSQL; both have `INSERT … ON CONFLICT DO NOTHING` and `UPDATE …
RETURNING`, so most statements are the same on either and only a few spots differ:
row locking (`FOR UPDATE SKIP LOCKED`), date truncation, the DBAPI parameter style and how
SQLite stores a DateTime as text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Engine, Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

Bind = Session | Connection | Engine

SUPPORTED = ("postgresql", "sqlite")


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


def datetime_param(bind: Bind, value: dt.datetime) -> dt.datetime | str:
    """A naive UTC datetime as a raw-cursor parameter, stored exactly as SQLAlchemy would.

    SQLite has no datetime type; SQLAlchemy's DateTime writes this text, and reads and
    comparisons depend on every writer using the same format.
    """
    return value if is_postgres(bind) else value.strftime("%Y-%m-%d %H:%M:%S.%f")
