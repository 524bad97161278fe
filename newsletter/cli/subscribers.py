"""`newsletter subscribers`: add, import, list, show, export and remove subscribers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.orm import Session

from newsletter.cli.base import console, err_console, ready
from newsletter.core.db.session import transaction
from newsletter.core.errors import UserError
from newsletter.subscribers.formats import to_csv, to_json
from newsletter.subscribers.importer import decode, import_rows, parse_rows
from newsletter.subscribers.progress import ReaderProgress, reader_progress
from newsletter.subscribers.queries import find_subscriber, iter_rows, subscriber_ids
from newsletter.subscribers.service import add_subscriber, erase, export

app = typer.Typer(
    help="Subscribers: add, import, list, show, export, remove.", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    """Add `newsletter subscribers` to the root app."""
    root.add_typer(app, name="subscribers")


@app.command("add")
def subscribers_add(
    email: Annotated[str, typer.Argument()],
    series: Annotated[str, typer.Option("--series", help="Series slug.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    confirmed: Annotated[bool, typer.Option(help="Active at once, no confirmation mail.")] = False,
) -> None:
    """Add one subscriber (pending with a confirmation mail unless --confirmed)."""
    ready()
    with transaction() as session:
        result = add_subscriber(session, email, name, series, confirmed=confirmed, source="cli")
    console.print(f"subscriber {result.subscriber_id}: {result.outcome.replace('_', ' ')}")


@app.command("import")
def subscribers_import(
    file: Annotated[Path, typer.Argument(help="CSV with columns email,name.")],
    series: Annotated[str, typer.Option("--series", help="Series slug.")],
    confirmed: Annotated[bool, typer.Option(help="Active at once, no confirmation mail.")] = False,
) -> None:
    """Import a CSV in one transaction; bad rows are reported and skipped."""
    ready()
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
    mails = "" if confirmed else f", {report.mails_queued} confirmation mails queued"
    console.print(f"imported {report.imported}, skipped {len(report.bad)}{mails}")
    if report.bad:  # scripts must notice: a partial import is not a clean one
        err_console.print(f"{len(report.bad)} row(s) skipped; see the lines above", style="red")
        raise typer.Exit(1)


@app.command("list")
def subscribers_list(
    series: Annotated[str | None, typer.Option("--series")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 100,
) -> None:
    """Subscribers, newest last, optionally filtered by series and status."""
    ready()
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


@app.command("show")
def subscribers_show(
    email: Annotated[str, typer.Argument(help="The person's address (any spelling of it).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """One person's subscriptions: mode, status, parts delivered, the next part and when it
    is due (UTC and the reader's zone), and any pause."""
    ready()
    with transaction() as session:
        person = find_subscriber(session, email)
        if person is None:
            raise UserError("no subscriber with that address")
        subscriber_id, status, zone = person.id, person.status, person.timezone
        progress = reader_progress(session, subscriber_id)
    if as_json:
        data = {
            "id": subscriber_id,
            "status": status,
            "timezone": zone,
            "subscriptions": [p.to_dict() for p in progress],
        }
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    own = f"their zone {zone}" if zone else "no zone of their own: the series' zone"
    _say(f"subscriber {subscriber_id} · {status} · {own}")
    if not progress:
        _say("no subscriptions")
    for p in progress:
        _say("")
        for line in show_lines(p):
            _say(line)


def show_lines(p: ReaderProgress) -> list[str]:
    """What `subscribers show` prints about one subscription."""
    lines = [
        f"{p.series} · {p.title}",
        f"  mode {p.mode} · status {p.status} · round {p.round}",
        f"  delivered {p.delivered} of {p.parts} parts",
    ]
    if p.next_part is None:
        lines.append("  next part: none")
    elif p.next_due_at is None or p.next_due_local is None:
        lines.append(f"  next part {p.next_part}: " + ("when resumed" if p.paused else "no date"))
    else:
        lines.append(
            f"  next part {p.next_part}: {p.next_due_at:%Y-%m-%d %H:%M} UTC"
            f" · {p.next_due_local:%Y-%m-%d %H:%M %Z} ({p.zone})"
        )
    lines.append(f"  paused {p.pause}" if p.pause else "  not paused")
    return lines


def _say(line: str) -> None:
    """Print as is: titles may hold brackets Rich would read as markup."""
    console.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command("export")
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
    if fmt not in ("csv", "json"):
        raise UserError(f"unknown format {fmt!r}; use csv or json")
    ready()
    with transaction() as session:
        if email is not None:
            text = json.dumps(
                export(session, _person(session, email)), ensure_ascii=False, indent=2
            )
            text += "\n"
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


@app.command("remove")
def subscribers_remove(
    email: Annotated[str | None, typer.Argument(help="One address to erase.")] = None,
    series: Annotated[str | None, typer.Option("--series")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase people entirely (all series); anonymised delivery counts are kept."""
    if email is None and series is None and status is None:
        raise UserError("name an EMAIL or filter with --series/--status")
    ready()
    with transaction() as session:
        if email is not None:
            targets = [_person(session, email)]
        else:
            targets = subscriber_ids(session, series, status)
        if targets and not yes and not typer.confirm(f"erase {len(targets)} subscriber(s)?"):
            raise typer.Exit(1)
        for subscriber_id in targets:
            erase(session, subscriber_id)
    console.print(f"erased {len(targets)} subscriber(s)")


def _person(session: Session, email: str) -> int:
    """The id of the subscriber with this address; a one-line error when there is none."""
    person = find_subscriber(session, email)
    if person is None:
        raise UserError("no subscriber with that address")
    return person.id
