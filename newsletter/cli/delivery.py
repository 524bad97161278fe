"""`newsletter tick|worker|beat|pause|resume|resume-issue|retry-failed|status`: run and steer
delivery.

`tick` is the one-shot form of what beat does every NEWSLETTER_TICK_SECONDS; `worker` and
`beat` start the real Celery processes; `pause`/`resume` flip the global sending switch;
`resume-issue` lifts one issue's automatic brake; `retry-failed` gives failed deliveries
fresh attempts (never touching a sent one).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer
from rich.table import Table

from newsletter.cli.base import console, ready
from newsletter.core.db.session import transaction
from newsletter.core.errors import NotFound
from newsletter.delivery import brakes, control, monitor
from newsletter.delivery.retry import retry_failed as requeue
from newsletter.delivery.tasks import tick_now

CELERY_APP = "newsletter.core.celery_app"


def register(root: typer.Typer) -> None:
    """Add the delivery commands to the root app."""
    root.command("tick")(tick)
    root.command("worker")(worker)
    root.command("beat")(beat)
    root.command("pause")(pause)
    root.command("resume")(resume)
    root.command("resume-issue")(resume_issue)
    root.command("retry-failed")(retry_failed)
    root.command("status")(status)


def tick() -> None:
    """Run one scheduler tick now: fan out due issues, release serial parts, enqueue sends."""
    ready()
    result = tick_now()
    if result.paused:
        console.print("sending is [bold]paused[/] (newsletter resume); nothing claimed")
    for issue_id, created in result.fanned_out.items():
        console.print(f"issue {issue_id}: {created} deliveries created")
    console.print(
        f"serial parts released: {result.serial_created}; "
        f"leases released: {result.released}; "
        f"enqueued: {result.claimed} deliveries in {len(result.batches)} batches; "
        f"issues completed: {len(result.completed)}",
        highlight=False,
    )


def _celery(*args: str) -> None:
    """Replace this process with Celery, so signals (TERM for a warm shutdown) reach it."""
    argv = [sys.executable, "-m", "celery", "-A", CELERY_APP, *args]
    os.execv(sys.executable, argv)


def worker(
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1)] = 2,
    loglevel: Annotated[str, typer.Option("--loglevel", "-l")] = "info",
) -> None:
    """Start a Celery worker serving `transactional` ahead of `bulk`."""
    ready()
    _celery(
        "worker",
        "-Q",
        "transactional,bulk",
        "-c",
        str(concurrency),
        "--pool",
        "prefork",
        "-l",
        loglevel,
    )


def beat(loglevel: Annotated[str, typer.Option("--loglevel", "-l")] = "info") -> None:
    """Start Celery beat, which queues a tick every NEWSLETTER_TICK_SECONDS."""
    _celery("beat", "-l", loglevel)


def pause() -> None:
    """Stop all sending, confirmations included: no fan-out, no claims; workers hand claimed
    rows back."""
    ready()
    with transaction() as session:
        control.set_paused(session, True)
    console.print("sending paused; `newsletter resume` to continue")


def resume() -> None:
    """Resume sending after `pause`; the next tick picks up where it stopped."""
    ready()
    with transaction() as session:
        control.set_paused(session, False)
    console.print("sending resumed")


def resume_issue(issue_id: Annotated[int, typer.Argument(help="the braked issue's id")]) -> None:
    """Lift an issue's automatic brake (see `newsletter status`); only what happens from now
    on counts toward braking it again."""
    ready()
    with transaction() as session:
        if not brakes.release(session, issue_id):
            raise NotFound(f"issue {issue_id} is not braked")
    console.print(f"issue {issue_id} resumed; the next tick sends what it held")


def retry_failed(
    issue: Annotated[int | None, typer.Option("--issue", help="only this issue id")] = None,
) -> None:
    """Give failed deliveries fresh attempts; sent, bounced and skipped ones stay as they are."""
    ready()
    with transaction() as session:
        count = requeue(session, issue)
    console.print(f"{count} failed deliveries re-queued; the next tick sends them")


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Queue depth, workers, deliveries, per-issue progress, send rate and recent failures;
    one-off mail (confirmations) waiting and failed, with the server's reply; and what is
    due in the next 24 hours, per series and part."""
    ready()
    with transaction() as session:
        view = monitor.operator_view(session)
    if as_json:
        typer.echo(json.dumps(view.to_dict(), indent=2, default=str))
        return
    _print_view(view)


def _print_view(view: monitor.OperatorView) -> None:
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
    if view.braked:
        braked = Table("issue", "series", "part", "since", "reason", title="Braked issues")
        for b in view.braked:
            at = b.braked_at.strftime("%Y-%m-%d %H:%M")
            braked.add_row(str(b.issue_id), b.series_slug, str(b.number), at, b.reason)
        console.print(braked)
        console.print("resume one with `newsletter resume-issue ID`", highlight=False)
    _print_mail(view)
    _print_due(view)


def _print_mail(view: monitor.OperatorView) -> None:
    """The outbox of one-off mail: counts per kind, and what is failing and why."""
    columns = ("waiting", "sent", "failed", "skipped")
    mail = Table("kind", *columns, title="One-off mail (confirmations)")
    for kind, counts in view.mail.items():
        finals = (str(counts.get(s, 0)) for s in columns[1:])
        mail.add_row(kind, str(view.mail_waiting.get(kind, 0)), *finals)
    console.print(mail)
    troubles = Table(
        "mail",
        "kind",
        "subscriber",
        "status",
        "attempts",
        "next try",
        "reply",
        title="One-off mail failing",
    )
    for t in view.mail_troubles:
        troubles.add_row(
            str(t.mail_id),
            t.kind,
            str(t.subscriber_id or "—"),
            t.status,
            str(t.attempts),
            t.next_attempt_at.strftime("%H:%M:%S") if t.next_attempt_at else "—",
            t.reply or "—",
        )
    console.print(troubles)


def _print_due(view: monitor.OperatorView) -> None:
    """Per series and part, how many readers get it in the next 24 hours."""
    due = Table("series", "mode", "part", "readers", "first due (UTC)", title="Due in 24 hours")
    for d in view.due_soon:
        first = d.first_due_at.strftime("%Y-%m-%d %H:%M")
        due.add_row(d.series_slug, d.mode, str(d.number), str(d.readers), first)
    console.print(due)
