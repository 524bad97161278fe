"""`newsletter db|series|subscribers`: migrations, series schedules and the subscriber list.

Every command that touches the database first checks the schema is at head and refuses
with a one-line message otherwise; the work itself is one `transaction()`, so bad input
leaves nothing half-done.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from newsletter.core.db import migrate
from newsletter.core.db.session import get_engine, transaction
from newsletter.core.errors import UserError
from newsletter.core.settings import get_settings

db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
series_app = typer.Typer(help="Series and their schedules.", no_args_is_help=True)
subs_app = typer.Typer(help="Subscribers: add, import, list, export, remove.", no_args_is_help=True)
console = Console()


def register(root: typer.Typer) -> None:
    """Add the `db`, `series` and `subscribers` sub-command groups to the root app."""
    root.add_typer(db_app, name="db")
    root.add_typer(series_app, name="series")
    root.add_typer(subs_app, name="subscribers")


def _ready() -> None:
    migrate.ensure_current(get_engine())


def _local_time(value: str, option: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise UserError(f"{option} {value!r} is not a date-time like 2026-12-01T09:00") from exc
    return parsed.replace(tzinfo=None) if parsed.tzinfo is None else parsed


# --- db ---------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    url = get_settings().resolved_database_url
    migrate.upgrade(url, revision)
    console.print(f"database at {migrate.current_revision(get_engine()) or 'base'}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()] = "-1") -> None:
    """Revert migrations down to REVISION (default: one step; `base` empties the schema)."""
    migrate.downgrade(get_settings().resolved_database_url, revision)
    console.print(f"database at {migrate.current_revision(get_engine()) or 'base'}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database and the newest one available."""
    url = get_settings().resolved_database_url
    current = migrate.current_revision(get_engine())
    head = migrate.head_revision(url)
    state = "up to date" if current == head else "out of date: run `newsletter db upgrade`"
    console.print(f"current {current or 'base'}, head {head} ({state})")


# --- series -----------------------------------------------------------------------------


@series_app.command("create")
def series_create(
    slug: Annotated[str, typer.Argument(help="Series slug, e.g. tech-labor-and-ai.")],
    source: Annotated[Path, typer.Option("--from", help="Series folder or manuscript.")],
    cadence: Annotated[str, typer.Option(help="weekly, daily, 'every 3d', or a cron line.")],
    start: Annotated[str, typer.Option(help="First send, local time: 2026-12-01T09:00.")],
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone.")] = "UTC",
    mode: Annotated[str, typer.Option(help="broadcast or serial.")] = "broadcast",
) -> None:
    """Store a series, snapshot its essays and schedule one issue per essay."""
    from newsletter.content import load_series
    from newsletter.scheduling.series import create_series

    _ready()
    content_series = load_series(source)
    with transaction() as session:
        series = create_series(
            session, slug, content_series, cadence, _local_time(start, "--start"), tz, mode
        )
        parts = len(series.issues)
    console.print(f"series {slug}: {parts} parts, {mode}, {cadence} ({tz})")
    series_show(slug)


@series_app.command("show")
def series_show(slug: Annotated[str, typer.Argument()]) -> None:
    """The schedule: part, title, local send time, status and delivery counts."""
    from newsletter.scheduling.queries import schedule_view

    _ready()
    with transaction() as session:
        view = schedule_view(session, slug)
    subs = ", ".join(f"{k} {v}" for k, v in sorted(view.subscriptions.items())) or "none"
    table = Table(title=f"{view.title} ({view.slug})")
    for column in ("Part", "Title", "Local send time", "Status", "Deliveries"):
        table.add_column(column)
    for part in view.parts:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(part.deliveries.items())) or "-"
        table.add_row(
            str(part.part), part.title, part.local_time or "per subscriber", part.status, counts
        )
    console.print(table)
    console.print(
        f"{view.mode}, {view.cadence}, {view.timezone}; status {view.status}; subscriptions: {subs}"
    )


@series_app.command("list")
def series_list() -> None:
    """All series with mode, cadence, status and subscription counts."""
    from newsletter.scheduling.queries import list_series

    _ready()
    with transaction() as session:
        views = list_series(session)
    table = Table()
    for column in ("Slug", "Title", "Mode", "Cadence", "Time zone", "Status", "Parts", "Active"):
        table.add_column(column)
    for v in views:
        active = str(v.subscriptions.get("active", 0))
        table.add_row(
            v.slug, v.title, v.mode, v.cadence, v.timezone, v.status, str(len(v.parts)), active
        )
    console.print(table if views else "no series yet; see `newsletter series create`")


@series_app.command("pause")
def series_pause(slug: Annotated[str, typer.Argument()]) -> None:
    """Stop sending SLUG until `series resume`."""
    from newsletter.scheduling.series import pause

    _ready()
    with transaction() as session:
        pause(session, slug)
    console.print(f"series {slug} paused")


@series_app.command("resume")
def series_resume(slug: Annotated[str, typer.Argument()]) -> None:
    """Send SLUG again (parts that fell due while paused go out at the next tick)."""
    from newsletter.scheduling.series import resume

    _ready()
    with transaction() as session:
        resume(session, slug)
    console.print(f"series {slug} resumed")


@series_app.command("reschedule")
def series_reschedule(
    slug: Annotated[str, typer.Argument()],
    part: Annotated[int, typer.Option(help="Part number to move.")],
    at: Annotated[str, typer.Option(help="New local send time: 2026-12-08T09:00.")],
    only: Annotated[bool, typer.Option(help="Move only this part, not the later ones.")] = False,
) -> None:
    """Move part N; later unsent parts shift with the cadence unless --only."""
    from newsletter.scheduling.series import reschedule

    _ready()
    with transaction() as session:
        moved = reschedule(session, slug, part, _local_time(at, "--at"), only=only)
        numbers = [issue.number for issue in moved]
    console.print(f"moved part(s) {', '.join(map(str, numbers))}")
    series_show(slug)


# --- subscribers ------------------------------------------------------------------------


@subs_app.command("add")
def subscribers_add(
    email: Annotated[str, typer.Argument()],
    series: Annotated[str, typer.Option("--series", help="Series slug.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    confirmed: Annotated[bool, typer.Option(help="Active at once, no confirmation mail.")] = False,
) -> None:
    """Add one subscriber (pending with a confirmation mail unless --confirmed)."""
    from newsletter.subscribers.service import add_subscriber

    _ready()
    with transaction() as session:
        result = add_subscriber(session, email, name, series, confirmed=confirmed, source="cli")
    console.print(f"subscriber {result.subscriber_id}: {result.outcome.replace('_', ' ')}")


@subs_app.command("import")
def subscribers_import(
    file: Annotated[Path, typer.Argument(help="CSV with columns email,name.")],
    series: Annotated[str, typer.Option("--series", help="Series slug.")],
    confirmed: Annotated[bool, typer.Option(help="Active at once, no confirmation mail.")] = False,
) -> None:
    """Import a CSV in one transaction; bad rows are reported and skipped."""
    from newsletter.subscribers.importer import decode, import_rows, parse_rows

    _ready()
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {file}: {exc.strerror}") from exc
    rows, bad = parse_rows(decode(data, str(file)), str(file))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("importing", total=len(rows))
        mails = progress.add_task("confirmation mails", total=len(rows), visible=not confirmed)
        with transaction() as session:
            report = import_rows(
                session,
                rows,
                bad,
                series,
                confirmed,
                progress=lambda n: progress.advance(task, n),
                mail_progress=lambda n: progress.advance(mails, n),
            )
    for row in report.bad:
        console.print(f"line {row.line}: {row.reason}", highlight=False, markup=False)
    mails = "" if confirmed else f", {report.mails_sent} confirmation mails sent"
    failed = f", {report.mail_failures} failed" if report.mail_failures else ""
    console.print(f"imported {report.imported}, skipped {len(report.bad)}{mails}{failed}")


@subs_app.command("list")
def subscribers_list(
    series: Annotated[str | None, typer.Option("--series")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 100,
) -> None:
    """Subscribers, newest last, optionally filtered by series and status."""
    from newsletter.subscribers.listing import iter_rows

    _ready()
    table = Table()
    for column in ("Id", "Email", "Name", "Status", "Series", "Since"):
        table.add_column(column)
    shown = total = 0
    with transaction() as session:
        for row in iter_rows(session, series, status):
            total += 1
            if shown < limit:
                shown += 1
                table.add_row(
                    str(row["id"]),
                    row["email"],
                    row["name"],
                    row["status"],
                    row["series"],
                    row["created_at"][:16],
                )
    console.print(table)
    console.print(f"{total} subscriber(s)" + (f", first {shown} shown" if total > shown else ""))


@subs_app.command("export")
def subscribers_export(
    series: Annotated[str | None, typer.Option("--series")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    email: Annotated[
        str | None, typer.Option(help="One person's full data (JSON), e.g. for a data request.")
    ] = None,
) -> None:
    """Export subscribers as CSV or JSON (or everything held on one person with --email)."""
    from newsletter.subscribers.listing import iter_rows, to_csv, to_json
    from newsletter.subscribers.service import export, find_subscriber

    if fmt not in ("csv", "json"):
        raise UserError(f"unknown format {fmt!r}; use csv or json")
    _ready()
    with transaction() as session:
        if email is not None:
            person = find_subscriber(session, email)
            if person is None:
                raise UserError("no subscriber with that address")
            text = json.dumps(export(session, person.id), ensure_ascii=False, indent=2) + "\n"
        else:
            rows = iter_rows(session, series, status)
            text = to_csv(rows) if fmt == "csv" else to_json(rows)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror}") from exc
    console.print(f"wrote {out}")


@subs_app.command("remove")
def subscribers_remove(
    email: Annotated[str | None, typer.Argument(help="One address to erase.")] = None,
    series: Annotated[str | None, typer.Option("--series")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase people entirely (all series); anonymised delivery counts are kept."""
    from newsletter.subscribers.listing import select_subscribers
    from newsletter.subscribers.service import erase, find_subscriber

    if email is None and series is None and status is None:
        raise UserError("name an EMAIL or filter with --series/--status")
    _ready()
    with transaction() as session:
        if email is not None:
            person = find_subscriber(session, email)
            if person is None:
                raise UserError("no subscriber with that address")
            targets = [person.id]
        else:
            query = select_subscribers(session, series, status)
            targets = [s.id for s in session.scalars(query)]
        if targets and not yes and not typer.confirm(f"erase {len(targets)} subscriber(s)?"):
            raise typer.Exit(1)
        for subscriber_id in targets:
            erase(session, subscriber_id)
    console.print(f"erased {len(targets)} subscriber(s)")
