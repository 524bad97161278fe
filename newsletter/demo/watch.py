"""Watching the demo deliver: Rich progress bars driven by the delivery ledger, and the summary.

The bars read `Delivery` counts from the database rather than listening to the worker, so
what they show is exactly what the ledger says happened: a bar only fills with rows the
worker marked `sent` after the SMTP server (or the outbox) accepted the message.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from newsletter.core.db.models import DeliveryStatus, Series, utcnow
from newsletter.core.db.session import transaction
from newsletter.core.errors import UserError
from newsletter.delivery import queries
from newsletter.scheduling import queries as scheduling_queries

FAILED = (DeliveryStatus.FAILED, DeliveryStatus.BOUNCED)


class DeliveryTimeout(UserError):
    exit_code = 1


@dataclass
class PartStats:
    """One part's state in the ledger."""

    issue_id: int
    number: int
    title: str
    scheduled_at: dt.datetime | None
    counts: dict[str, int] = field(default_factory=dict)
    first_created: dt.datetime | None = None
    last_sent: dt.datetime | None = None

    @property
    def sent(self) -> int:
        return self.counts.get(DeliveryStatus.SENT, 0)

    @property
    def failed(self) -> int:
        return sum(self.counts.get(status, 0) for status in FAILED)

    @property
    def final(self) -> int:
        return sum(self.counts.get(status, 0) for status in DeliveryStatus.FINAL)

    @property
    def rate(self) -> float:
        """Messages per second from fan-out (rows created) to the last accepted message."""
        if not self.sent or self.first_created is None or self.last_sent is None:
            return 0.0
        seconds = (self.last_sent - self.first_created).total_seconds()
        return self.sent / max(seconds, 1e-3)


def poll(series_id: int) -> list[PartStats]:
    """The ledger for every part of the series, through the delivery queries."""
    with transaction() as session:
        series = session.get(Series, series_id)
        assert series is not None, "the demo series was created before polling"
        parts = {
            p.issue_id: PartStats(p.issue_id, p.number, p.title, p.scheduled_at)
            for p in scheduling_queries.parts(session, series)
        }
        for issue_id, counts in queries.series_counts(session, series_id).items():
            parts[issue_id].counts = counts
        for issue_id, timing in queries.issue_timings(session, list(parts)).items():
            parts[issue_id].first_created = timing.first_created
            parts[issue_id].last_sent = timing.last_sent
    return list(parts.values())


def _status(part: PartStats, now: dt.datetime) -> str:
    if part.final >= 1 and part.final == sum(part.counts.values()):
        return f"[green]done[/] {part.rate:,.0f} msg/s"
    if part.counts:
        return "[yellow]sending[/]"
    if part.scheduled_at and part.scheduled_at > now:
        return f"[dim]due in {(part.scheduled_at - now).total_seconds():.1f} s[/]"
    return "[cyan]due, waiting for the tick[/]"


def watch(
    series_id: int,
    expected: int,
    console: Console,
    timeout: float,
    check_alive: Callable[[], None],
    interval: float = 0.2,
) -> list[PartStats]:
    """Show one bar per part until every part has `expected` final deliveries.

    `check_alive` raises if a worker or beat process died, so a crash ends the demo at once
    instead of at the timeout.
    """
    columns = (
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
    )
    deadline = time.monotonic() + timeout
    with Progress(*columns, console=console, refresh_per_second=10) as progress:
        parts = poll(series_id)
        bars: dict[int, TaskID] = {
            p.issue_id: progress.add_task(
                f"part {p.number} · {p.title[:28]:<28}", total=expected, status=""
            )
            for p in parts
        }
        while True:
            now = utcnow()
            for part in parts:
                progress.update(
                    bars[part.issue_id], completed=part.final, status=_status(part, now)
                )
            if all(part.final >= expected for part in parts):
                return parts
            if time.monotonic() > deadline:
                raise DeliveryTimeout(
                    f"not everything was delivered within {timeout:.0f} s "
                    f"({sum(p.final for p in parts)} of {expected * len(parts)} final)"
                )
            check_alive()
            time.sleep(interval)
            parts = poll(series_id)


def summary_table(parts: list[PartStats]) -> Table:
    table = Table(title="Delivered", title_justify="left")
    table.add_column("part", justify="right")
    table.add_column("title")
    table.add_column("delivered", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("msg/s", justify="right")
    for part in parts:
        table.add_row(
            str(part.number),
            part.title,
            f"{part.sent:,}",
            f"{part.failed:,}",
            f"{part.rate:,.0f}",
        )
    table.add_section()
    table.add_row(
        "",
        "total",
        f"{sum(p.sent for p in parts):,}",
        f"{sum(p.failed for p in parts):,}",
        "",
        style="bold",
    )
    return table
