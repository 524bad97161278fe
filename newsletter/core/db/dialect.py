"""Small dialect helpers shared by the tick and the send service.

Both SQLite (≥ 3.35) and PostgreSQL support `INSERT … ON CONFLICT DO NOTHING` and
`UPDATE … RETURNING`, so every claim is one statement on either backend.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def insert_ignoring_conflicts(
    session: Session, table: Table, *columns: str
) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that silently skips rows violating the UNIQUE(`columns`) constraint."""
    insert = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
    # preserve_rowcount: SQLAlchemy only keeps cursor.rowcount for UPDATE/DELETE by default.
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=list(columns))
        .execution_options(preserve_rowcount=True)
    )
