"""`newsletter web`, `newsletter users …` and `newsletter status`.

`status` prints the same operator view as the /admin queue dashboard and /metrics
(`newsletter.delivery.monitor`), as Rich tables or as JSON for scripts.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from newsletter.core.db import migrate
from newsletter.core.db.session import get_engine, transaction

users_app = typer.Typer(help="Console accounts and API tokens.", no_args_is_help=True)
console = Console()


def register(root: typer.Typer) -> None:
    """Add `web`, `users` and `status` to the root app."""
    root.command("web")(web)
    root.command("status")(status)
    root.add_typer(users_app, name="users")


def _ready() -> None:
    migrate.ensure_current(get_engine())


def web(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes (default: NEWSLETTER_WEB_WORKERS, else cores)."),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log each request (tokens redacted).")] = True,
) -> None:
    """Serve the subscriber pages, /admin, /api/v1, /metrics and /healthz with uvicorn."""
    from newsletter.core.settings import get_settings
    from newsletter.web.serve import run

    _ready()
    run(host, port, workers or get_settings().web_workers or os.cpu_count() or 1, access_log)


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="Login email.")],
    role: Annotated[str, typer.Option(help="editor, operator or admin.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create a console account; the password is prompted twice unless --password-stdin."""
    from newsletter.users import service

    _ready()
    service.check_role(role)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with transaction() as session:
        user = service.create_user(session, email, password, role)
        user_id = user.id
    console.print(f"created {role} account {user_id}")


@users_app.command("token")
def users_token(email: Annotated[str, typer.Argument(help="Login email.")]) -> None:
    """Create an API token for an account and print it once (only its hash is stored)."""
    from newsletter.users import service

    _ready()
    with transaction() as session:
        token = service.issue_token(session, service.get_user(session, email))
    typer.echo(token)


@users_app.command("list")
def users_list() -> None:
    """List console accounts."""
    from sqlalchemy import select

    from newsletter.users.models import User

    _ready()
    with transaction() as session:
        rows = session.scalars(select(User).order_by(User.id)).all()
    table = Table("id", "email", "role", "last login")
    for user in rows:
        table.add_row(str(user.id), user.email, user.role, str(user.last_login_at or "—"))
    console.print(table)


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Queue depth, workers, deliveries, per-issue progress, send rate and recent failures."""
    from newsletter.delivery import monitor

    _ready()
    with transaction() as session:
        view = monitor.operator_view(session)
    if as_json:
        typer.echo(json.dumps(view.to_dict(), indent=2, default=str))
        return
    _print_view(view)


def _print_view(view) -> None:  # noqa: ANN001
    workers = "unknown" if view.workers is None else str(len(view.workers))
    overview = Table(title="Overview", show_header=False)
    overview.add_row("sending", "[bold red]PAUSED[/]" if view.paused else "running")
    for queue, depth in view.queues.items():
        overview.add_row(f"queue {queue}", "unknown" if depth is None else str(depth))
    overview.add_row("workers online", workers)
    overview.add_row("in flight", str(view.in_flight))
    overview.add_row("sent last hour", str(view.sent_last_hour))
    console.print(overview)

    deliveries = Table("status", "deliveries", title="Deliveries")
    for name, n in view.deliveries.items():
        deliveries.add_row(name, str(n))
    console.print(deliveries)

    issues = Table(
        "series", "part", "status", "sent", "waiting", "failed", "bounced", "total", title="Issues"
    )
    for p in view.issues:
        waiting = sum(p.counts.get(s, 0) for s in ("pending", "queued", "sending"))
        issues.add_row(
            p.series_slug,
            str(p.number),
            p.status,
            str(p.counts.get("sent", 0)),
            str(waiting),
            str(p.counts.get("failed", 0)),
            str(p.counts.get("bounced", 0)),
            str(p.total),
        )
    console.print(issues)

    failures = Table(
        "delivery", "issue", "subscriber", "status", "attempts", "reply", title="Recent failures"
    )
    for f in view.failures:
        failures.add_row(
            str(f.delivery_id),
            f"{f.series_slug} {f.number}",
            str(f.subscriber_id or "—"),
            f.status,
            str(f.attempts),
            f.reply or "—",
        )
    console.print(failures)
