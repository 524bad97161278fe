"""What every `newsletter` sub-command shares: one console, the schema guard, time options.

Every command that touches the database first checks the schema is at head and refuses with
a one-line message otherwise; the work itself is one `transaction()`, so bad input leaves
nothing half-done.
"""

from __future__ import annotations

import datetime as dt

from rich.console import Console

from newsletter.core.db import migrate
from newsletter.core.db.session import get_engine
from newsletter.core.errors import UserError

console = Console()
err_console = Console(stderr=True)


def ready() -> None:
    """Refuse to run on a database whose schema is not at head."""
    migrate.ensure_current(get_engine())


def local_time(value: str, option: str) -> dt.datetime:
    """Parse a `--start`/`--at` value as naive local wall time (or an aware date-time)."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise UserError(f"{option} {value!r} is not a date-time like 2026-12-01T09:00") from exc
    return parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed
