"""`newsletter series`: schedule a series from content/, show, pause, resume, reschedule,
add a part, update its settings and sender, delete it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from newsletter.cli.base import console, local_time, ready
from newsletter.content import load_series
from newsletter.core.db.models import FirstPart, LateJoiners
from newsletter.core.db.session import transaction
from newsletter.core.errors import UserError
from newsletter.delivery.queries import all_series_progress, series_progress
from newsletter.scheduling.editing import delete_series, update_series
from newsletter.scheduling.growth import add_part, parse_part, read_part, reschedule_serial
from newsletter.scheduling.series import create_series, pause, reschedule, resume

app = typer.Typer(help="Series and their schedules.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Add `newsletter series` to the root app."""
    root.add_typer(app, name="series")


@app.command("create")
def series_create(
    slug: Annotated[str, typer.Argument(help="Series slug, e.g. tech-labor-and-ai.")],
    source: Annotated[Path, typer.Option("--from", help="Series folder or manuscript.")],
    cadence: Annotated[str, typer.Option(help="weekly, daily, 'every 3d', or a cron line.")],
    start: Annotated[str, typer.Option(help="First send, local time: 2026-12-01T09:00.")],
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone.")] = "UTC",
    mode: Annotated[str, typer.Option(help="broadcast or serial.")] = "broadcast",
    first_part: Annotated[
        str, typer.Option(help="Serial: a new reader's part 1 'now' (a welcome) or 'next-slot'.")
    ] = FirstPart.NOW,
    late_joiners: Annotated[
        str, typer.Option(help="Broadcast: late joiners get the 'next' part, or 'catch-up'.")
    ] = LateJoiners.NEXT,
) -> None:
    """Store a series, snapshot its essays and schedule one issue per essay.

    A serial series sends each reader's parts at the start's local time of day."""
    ready()
    content_series = load_series(source)
    with transaction() as session:
        series = create_series(
            session,
            slug,
            content_series,
            cadence,
            local_time(start, "--start"),
            tz,
            mode,
            first_part=first_part,
            late_joiners=late_joiners,
        )
        parts = len(series.issues)
    console.print(f"series {slug}: {parts} parts, {mode}, {cadence} ({tz})")
    series_show(slug)


@app.command("show")
def series_show(slug: Annotated[str, typer.Argument()]) -> None:
    """The schedule: part, title, local send time, status and delivery counts."""
    ready()
    with transaction() as session:
        view = series_progress(session, slug)
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


@app.command("list")
def series_list() -> None:
    """All series with mode, cadence, status and subscription counts."""
    ready()
    with transaction() as session:
        views = all_series_progress(session)
    table = Table()
    for column in ("Slug", "Title", "Mode", "Cadence", "Time zone", "Status", "Parts", "Active"):
        table.add_column(column)
    for v in views:
        active = str(v.subscriptions.get("active", 0))
        table.add_row(
            v.slug, v.title, v.mode, v.cadence, v.timezone, v.status, str(len(v.parts)), active
        )
    console.print(table if views else "no series yet; see `newsletter series create`")


@app.command("pause")
def series_pause(slug: Annotated[str, typer.Argument()]) -> None:
    """Stop sending SLUG until `series resume`."""
    _switch(slug, pause, "paused")


@app.command("resume")
def series_resume(slug: Annotated[str, typer.Argument()]) -> None:
    """Send SLUG again (parts that fell due while paused go out at the next tick)."""
    _switch(slug, resume, "resumed")


def _switch(slug: str, change: Callable[[Session, str], object], done: str) -> None:
    ready()
    with transaction() as session:
        change(session, slug)
    console.print(f"series {slug} {done}")


@app.command("reschedule")
def series_reschedule(
    slug: Annotated[str, typer.Argument()],
    part: Annotated[int | None, typer.Option(help="Broadcast: part number to move.")] = None,
    at: Annotated[
        str | None,
        typer.Option(help="Broadcast: new local send time 2026-12-08T09:00; serial: HH:MM."),
    ] = None,
    only: Annotated[bool, typer.Option(help="Move only this part, not the later ones.")] = False,
    cadence: Annotated[str | None, typer.Option(help="Serial: a new cadence.")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="Serial: a new time zone.")] = None,
) -> None:
    """Broadcast: move part N (later unsent parts shift with the cadence unless --only).
    Serial: move every reader's future parts to a new time of day, cadence or zone."""
    ready()
    if part is None:
        with transaction() as session:
            moved = reschedule_serial(session, slug, _time_of_day(at), cadence, tz)
        console.print(f"moved the next part of {moved} reader(s)")
        series_show(slug)
        return
    if at is None or cadence is not None or tz is not None:
        raise UserError("a broadcast reschedule takes --part and --at only")
    with transaction() as session:
        moved_parts = reschedule(session, slug, part, local_time(at, "--at"), only=only)
        numbers = [issue.number for issue in moved_parts]
    console.print(f"moved part(s) {', '.join(map(str, numbers))}")
    series_show(slug)


def _time_of_day(value: str | None) -> dt.time | None:
    if value is None:
        return None
    try:
        return dt.time.fromisoformat(value.strip())
    except ValueError as exc:
        raise UserError(f"--at {value!r} is not a time of day like 09:00") from exc


@app.command("add-part")
def series_add_part(
    slug: Annotated[str, typer.Argument()],
    file: Annotated[Path, typer.Argument(help="One essay: Markdown (.md) or plain text.")],
) -> None:
    """Append one essay as the next part of SLUG (finished readers get it at their next
    slot; a broadcast schedule extends by one cadence step)."""
    ready()
    text, markdown = read_part(file)
    with transaction() as session:
        essay = parse_part(text, 0, markdown=markdown, source=str(file))
        number = add_part(session, slug, essay).number
    console.print(f"series {slug}: part {number} added")
    series_show(slug)


@app.command("update")
def series_update(
    slug: Annotated[str, typer.Argument()],
    title: Annotated[str | None, typer.Option(help="A new title.")] = None,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    from_name: Annotated[str | None, typer.Option(help="From name ('' = the default).")] = None,
    from_address: Annotated[
        str | None, typer.Option(help="From address ('' = NEWSLETTER_FROM's).")
    ] = None,
    reply_to: Annotated[str | None, typer.Option(help="Reply-To address ('' = none).")] = None,
    footer_text: Annotated[str | None, typer.Option(help="A line above the footer.")] = None,
    postal_address: Annotated[
        str | None, typer.Option(help="Postal address ('' = NEWSLETTER_POSTAL_ADDRESS).")
    ] = None,
) -> None:
    """Change SLUG's title, description or sender; an empty value restores the default."""
    given = {
        "title": title,
        "description": description,
        "from_name": from_name,
        "from_address": from_address,
        "reply_to": reply_to,
        "footer_text": footer_text,
        "postal_address": postal_address,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        raise UserError("nothing to change; see `newsletter series update --help`")
    ready()
    with transaction() as session:
        update_series(session, slug, changes)
    console.print(f"series {slug} updated: {', '.join(sorted(changes))}")


@app.command("delete")
def series_delete(
    slug: Annotated[str, typer.Argument()],
    force: Annotated[
        bool, typer.Option(help="Also when parts were sent: stop it and keep their archive.")
    ] = False,
) -> None:
    """Delete SLUG. Refused once a part was sent, unless --force: then nothing more goes
    out (unsent parts and subscriptions are removed) and the sent parts stay archived."""
    ready()
    with transaction() as session:
        done = delete_series(session, slug, force=force)
    if done.removed:
        console.print(f"series {slug} deleted")
    else:
        console.print(f"series {slug} deleted; its {done.kept_parts} sent part(s) stay archived")
