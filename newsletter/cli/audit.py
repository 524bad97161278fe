"""`newsletter audit`: the staff audit trail, as a table or exported as JSON or CSV.

The table shows the newest entries; `--json` and `--csv` write every matching entry,
oldest first, for keeping elsewhere (an export is itself an audit entry).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from newsletter.cli.base import console, ready
from newsletter.core.db.session import transaction
from newsletter.core.errors import UserError
from newsletter.users import audit, queries, service
from newsletter.users.audit import Actor


def register(root: typer.Typer) -> None:
    """Add `newsletter audit` to the root app."""
    root.command("audit")(audit_command)


def _since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise UserError(f"--since {value!r} is not a date-time like 2026-12-01T09:00") from exc
    return audit.naive_utc(parsed)


def audit_command(
    as_json: Annotated[bool, typer.Option("--json", help="Every match as JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Every match as CSV.")] = False,
    since: Annotated[
        str | None, typer.Option(help="Only entries from this UTC date-time on.")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Only this account's entries (email).")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. user.disable.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Rows in the table.")] = 50,
) -> None:
    """Who did what in the console, the API and `newsletter users`."""
    ready()
    if as_json and as_csv:
        raise UserError("choose one of --json and --csv")
    with transaction() as session:
        actor_id = service.get_user(session, actor).id if actor else None
        where = audit.Filter(actor_id=actor_id, action=action, since=_since(since))
        if as_json or as_csv:
            entries = list(audit.iter_all(session, where))
            fmt = "json" if as_json else "csv"
            audit.record_action(session, Actor.cli(), "audit.export", format=fmt)
        else:
            entries = audit.newest(session, where, limit=limit)
            names = queries.emails_by_id(session)
    if as_json:
        typer.echo(audit.to_json(entries), nl=False)
    elif as_csv:
        typer.echo(audit.to_csv(entries), nl=False)
    else:
        _table(entries, names)


def _table(entries: list[audit.Entry], names: dict[int, str]) -> None:
    table = Table("id", "when (UTC)", "who", "action", "target", "outcome")
    for e in entries:
        who = names.get(e.actor_id, f"#{e.actor_id}") if e.actor_id else e.actor_role
        target = ", ".join(f"{k}={v}" for k, v in sorted(e.target.items())) or "—"
        table.add_row(
            str(e.id), e.at.strftime("%Y-%m-%d %H:%M:%S"), f"{who} ({e.auth})", e.action, target,
            e.outcome + (f" {e.status}" if e.status else ""),
        )  # fmt: skip
    console.print(table)
