"""`newsletter db`: schema migrations (Alembic)."""

from __future__ import annotations

from typing import Annotated

import typer

from newsletter.cli.base import console
from newsletter.core.db import migrate
from newsletter.core.db.session import get_engine
from newsletter.core.settings import get_settings

app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Add `newsletter db` to the root app."""
    root.add_typer(app, name="db")


@app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    url = get_settings().resolved_database_url
    migrate.upgrade(url, revision)
    console.print(f"database at {migrate.current_revision(get_engine()) or 'base'}")


@app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()] = "-1") -> None:
    """Revert migrations down to REVISION (default: one step; `base` empties the schema)."""
    migrate.downgrade(get_settings().resolved_database_url, revision)
    console.print(f"database at {migrate.current_revision(get_engine()) or 'base'}")


@app.command("current")
def db_current() -> None:
    """Show the schema revision of the database and the newest one available."""
    url = get_settings().resolved_database_url
    current = migrate.current_revision(get_engine())
    head = migrate.head_revision(url)
    state = "up to date" if current == head else "out of date: run `newsletter db upgrade`"
    console.print(f"current {current or 'base'}, head {head} ({state})")
