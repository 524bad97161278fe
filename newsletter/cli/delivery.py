"""`newsletter tick|worker|beat|pause|resume|retry-failed`: run and steer delivery.

`tick` is the one-shot form of what beat does every NEWSLETTER_TICK_SECONDS; `worker` and
`beat` start the real Celery processes; `pause`/`resume` flip the global sending switch;
`retry-failed` gives failed deliveries fresh attempts (never touching a sent one).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console

from newsletter.core.db import migrate
from newsletter.core.db.session import get_engine, transaction

console = Console()
CELERY_APP = "newsletter.core.celery_app"


def register(root: typer.Typer) -> None:
    """Add the delivery commands to the root app."""
    root.command("tick")(tick)
    root.command("worker")(worker)
    root.command("beat")(beat)
    root.command("pause")(pause)
    root.command("resume")(resume)
    root.command("retry-failed")(retry_failed)


def _ready() -> None:
    migrate.ensure_current(get_engine())


def tick() -> None:
    """Run one scheduler tick now: fan out due issues, release serial parts, enqueue sends."""
    from newsletter.delivery.tasks import tick_now

    _ready()
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
    _ready()
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
    """Stop all sending: no fan-out, no claims; workers hand queued batches back."""
    from newsletter.delivery.control import set_paused

    _ready()
    with transaction() as session:
        set_paused(session, True)
    console.print("sending paused; `newsletter resume` to continue")


def resume() -> None:
    """Resume sending after `pause`; the next tick picks up where it stopped."""
    from newsletter.delivery.control import set_paused

    _ready()
    with transaction() as session:
        set_paused(session, False)
    console.print("sending resumed")


def retry_failed(
    issue: Annotated[int | None, typer.Option("--issue", help="only this issue id")] = None,
) -> None:
    """Give failed deliveries fresh attempts; sent, bounced and skipped ones stay as they are."""
    from newsletter.delivery.retry import retry_failed as requeue

    _ready()
    with transaction() as session:
        count = requeue(session, issue)
    console.print(f"{count} failed deliveries re-queued; the next tick sends them")
