"""Migrations: empty → head → base on fresh databases, models in sync, stale schema refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import newsletter.users.models  # noqa: F401  (its tables are part of the schema)
from newsletter.core.db import migrate
from newsletter.core.db.dialect import make_engine
from newsletter.core.db.models import Base
from newsletter.core.db.session import get_engine
from tests.support.databases import throwaway_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> Iterator[str]:
    """A brand-new, empty database (a new SQLite file, or a new PostgreSQL database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with throwaway_database(prefix="nl_mig") as url:
        yield url


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_empty_to_head_and_back_down(empty_url: str) -> None:
    expected = set(Base.metadata.tables) | {"alembic_version"}
    migrate.upgrade(empty_url)
    assert tables(empty_url) == expected
    engine = make_engine(empty_url)
    try:
        assert migrate.current_revision(engine) == migrate.head_revision(empty_url)
        migrate.ensure_current(engine)
        migrate.downgrade(empty_url, "base")
        assert tables(empty_url) == {"alembic_version"}
        assert migrate.current_revision(engine) is None
        migrate.upgrade(empty_url)  # and up again: downgrades left nothing behind
        assert tables(empty_url) == expected
    finally:
        engine.dispose()


def test_stale_schema_is_refused_with_one_line(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        with pytest.raises(migrate.SchemaOutOfDate, match="empty.*newsletter db upgrade"):
            migrate.ensure_current(engine)
        migrate.upgrade(empty_url, "0001")
        with pytest.raises(migrate.SchemaOutOfDate, match="at 0001, head is") as err:
            migrate.ensure_current(engine)
        assert "\n" not in str(err.value)
    finally:
        engine.dispose()


def test_models_match_migrations(db: str) -> None:
    """Autogenerate against head finds nothing: models and migrations are in sync."""
    with get_engine().connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_revision_ids_are_one_linear_chain() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    revisions = list(script.walk_revisions())
    assert len(script.get_heads()) == 1
    # Oldest first, each a four-digit number above the one it revises. Parallel branches
    # take fixed ids (0008 revises 0005 until the lead re-chains it at merge), so a gap is
    # allowed; a fork or a revision numbered below its parent is not.
    ids = [r.revision for r in reversed(revisions)]
    assert all(len(i) == 4 and i.isdigit() for i in ids)
    assert ids[0] == "0001" and ids == sorted(ids)
