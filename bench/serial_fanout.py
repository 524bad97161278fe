"""Serial fan-out benchmark: N serial readers due in one slot, released by one tick.

    .venv/bin/python bench/serial_fanout.py [--n 100000] [--db both|postgresql|sqlite]
                                            [--profile]

For each database (a throwaway PostgreSQL database, dropped at the end, and a SQLite file
in a temporary directory):
1. migrates it and creates a serial series (the seed, daily) through the scheduling service;
2. bulk inserts N confirmed subscribers with Core (one executemany) and their subscriptions
   (one INSERT … SELECT), every one due at the same slot a minute ago;
3. times the tick's serial stage as `delivery.tick` runs it (end timed pauses, then
   `fanout.advance_serial` in SERIAL_CHUNK-sized transactions) until N delivery rows exist;
4. puts the readers back at part 1 and times a whole `run_tick` (serial release, then the
   claim of the N new rows into `queued`, published to a recorder instead of a broker);
5. for reference, times a broadcast fan-out of one part to the same N readers (one
   INSERT … SELECT): the floor of writing N ledger rows on this machine in this run, since
   the machine is shared and noisy (`uptime`'s load is printed);
6. prints rows, seconds and rows/s for both, and where the serial stage's time went: SQL
   per statement kind (verb and table, timed at the cursor) and the rest (Python).
   `--profile` adds the cProfile functions with the most cumulative time.

Target (issue 11): the N = 100,000 release in under 5 s.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _infra import ROOT, throwaway_postgres
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, event, func, insert, literal, select, text, update

from newsletter.content import load_series
from newsletter.core.db import dialect
from newsletter.core.db.migrate import upgrade
from newsletter.core.db.models import (
    Delivery,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from newsletter.core.db.session import dispose_engines, get_engine, transaction
from newsletter.core.settings import reset_settings
from newsletter.delivery import fanout, tick
from newsletter.delivery.tick import run_tick
from newsletter.scheduling.series import create_series

TARGET_SECONDS = 5.0
console = Console(width=140)  # the tables stay whole when piped to a file


@dataclass
class Run:
    database: str
    n: int
    insert_seconds: float = 0.0
    serial_seconds: float = 0.0
    serial_rows: int = 0
    chunks: int = 0
    tick_seconds: float = 0.0
    tick_created: int = 0
    tick_claimed: int = 0
    broadcast_seconds: float = 0.0  # the same N rows by one broadcast INSERT … SELECT
    sql: dict[str, list[float]] = field(default_factory=dict)  # kind → [count, seconds]
    profile: str = ""

    @property
    def rate(self) -> float:
        return self.serial_rows / self.serial_seconds if self.serial_seconds else 0.0

    @property
    def sql_seconds(self) -> float:
        return sum(seconds for _, seconds in self.sql.values())


def configure(db_url: str, data_dir: Path) -> None:
    """Point this process at the bench's database (and nothing else of the host's)."""
    for key in [k for k in os.environ if k.startswith("NEWSLETTER_")]:
        del os.environ[key]
    os.environ.update(
        NEWSLETTER_DATA_DIR=str(data_dir),
        NEWSLETTER_DATABASE_URL=db_url,
        NEWSLETTER_SECRET_KEY="bench-secret-key-not-for-production",
    )
    reset_settings()
    dispose_engines()


def readers(n: int) -> tuple[dt.datetime, float]:
    """The series and N readers due at one slot; returns (that slot, seconds to insert)."""
    now = utcnow().replace(second=0, microsecond=0)
    slot = now - dt.timedelta(minutes=1)
    content = load_series(ROOT / "content" / "tech-labor-and-ai")
    began = time.perf_counter()
    with transaction() as session:
        series = create_series(
            session, "serial-bench", content, "daily", slot - dt.timedelta(days=1), "UTC", "serial"
        )
        people = [
            {
                "email": f"reader{i}@bench.example.com",
                "email_key": f"reader{i}@bench.example.com",
                "name": f"Reader {i}",
                "status": SubscriberStatus.ACTIVE,
                "source": "import",
                "created_at": slot,
                "confirmed_at": slot,
            }
            for i in range(n)
        ]
        session.execute(insert(Subscriber), people)
        columns = ["subscriber_id", "series_id", "status", "next_part", "next_due_at", "round"]
        everyone = select(
            Subscriber.id,
            literal(series.id),
            literal(SubscriptionStatus.ACTIVE),
            literal(1),
            literal(slot),
            literal(1),
        )
        session.execute(insert(Subscription).from_select(columns, everyone))
    if dialect.is_postgres(get_engine()):
        with get_engine().begin() as conn:  # statistics, as autovacuum soon has them
            conn.execute(text("ANALYZE"))
    return slot, time.perf_counter() - began


def back_to_part_one(slot: dt.datetime) -> None:
    """Forget the release: no deliveries, every reader at part 1 due at the slot again."""
    with transaction() as session:
        session.execute(Delivery.__table__.delete())
        session.execute(
            update(Subscription).values(
                status=SubscriptionStatus.ACTIVE, next_part=1, next_due_at=slot, round=1
            )
        )


def broadcast_reference(slot: dt.datetime) -> float:
    """Seconds for the broadcast fan-out (one INSERT … SELECT) of one part to the same
    readers: the set-based floor of writing N ledger rows on this machine, in this run."""
    content = load_series(ROOT / "content" / "tech-labor-and-ai")
    with transaction() as session:
        series = create_series(
            session, "broadcast-bench", content, "weekly", slot - dt.timedelta(days=1), "UTC",
            "broadcast", allow_past=True,
        )  # fmt: skip
        columns = ["subscriber_id", "series_id", "status", "next_part", "round"]
        everyone = select(
            Subscriber.id,
            literal(series.id),
            literal(SubscriptionStatus.ACTIVE),
            literal(1),
            literal(1),
        )
        session.execute(insert(Subscription).from_select(columns, everyone))
        issue_id = series.issues[0].id
    began = time.perf_counter()
    with transaction() as session:
        created = fanout.fan_out_issue(session, issue_id, utcnow())
    spent = time.perf_counter() - began
    assert created, "the broadcast reference fanned out nothing"
    return spent


def deliveries() -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(Delivery)) or 0


_KIND = re.compile(r"^\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM)\b", re.IGNORECASE)
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)


def _kind(statement: str) -> str:
    """'INSERT INTO delivery', 'UPDATE subscription', 'SELECT subscription', …"""
    verb = _KIND.match(statement)
    table = _TABLE.search(statement)
    words = (verb.group(1).upper() if verb else statement.split()[0].upper(), table)
    return f"{words[0]} {words[1].group(1) if words[1] else ''}".strip()


@contextmanager
def sql_timing(engine: Engine, into: dict[str, list[float]]) -> Iterator[None]:
    """Count and time every statement at the cursor, per `_kind`."""

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        spent = time.perf_counter() - conn.info["bench_started"].pop()
        slot = into.setdefault(_kind(statement), [0, 0.0])
        slot[0] += 1
        slot[1] += spent

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def serial_stage(now: dt.datetime, run: Run) -> None:
    """The tick's step 4 exactly as `tick._advance_serial` runs it, chunk by chunk."""
    with transaction() as session:
        fanout.resume_timed_pauses(session, now)
    while True:
        with transaction() as session:
            chunk = fanout.advance_serial(session, now, tick.SERIAL_CHUNK)
        run.chunks += 1
        if chunk.taken < tick.SERIAL_CHUNK:
            return


def measure(database: str, url: str, n: int, data_dir: Path, profile: bool) -> Run:
    configure(url, data_dir)
    upgrade(url)
    run = Run(database, n)
    slot, run.insert_seconds = readers(n)
    now = utcnow()
    profiler = cProfile.Profile() if profile else None
    with sql_timing(get_engine(), run.sql):
        began = time.perf_counter()
        if profiler:
            profiler.enable()
        serial_stage(now, run)
        if profiler:
            profiler.disable()
        run.serial_seconds = time.perf_counter() - began
    run.serial_rows = deliveries()
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
        run.profile = out.getvalue()

    back_to_part_one(slot)
    batches: list[list[int]] = []
    began = time.perf_counter()
    result = run_tick(now, enqueue=batches.append)
    run.tick_seconds = time.perf_counter() - began
    run.tick_created, run.tick_claimed = result.serial_created, result.claimed
    assert deliveries() == n, f"{database}: {deliveries()} delivery rows, wanted {n}"
    run.broadcast_seconds = broadcast_reference(slot)
    dispose_engines()
    return run


def report(runs: list[Run]) -> None:
    chunk = tick.SERIAL_CHUNK
    table = Table(
        title=f"Serial fan-out: readers due in one slot, {chunk:,} per chunk"
        f" (target < {TARGET_SECONDS:.0f} s)"
    )
    columns = ("database", "rows", "seconds", "rows/s", "chunks", "whole tick s", "claimed")
    for column in (*columns, "broadcast s", "serial/broadcast"):
        table.add_column(column, justify="right")
    for r in runs:
        table.add_row(
            r.database,
            f"{r.serial_rows:,}",
            f"{r.serial_seconds:.2f}",
            f"{r.rate:,.0f}",
            str(r.chunks),
            f"{r.tick_seconds:.2f}",
            f"{r.tick_claimed:,}",
            f"{r.broadcast_seconds:.2f}",
            f"{r.serial_seconds / r.broadcast_seconds:.1f}×" if r.broadcast_seconds else "—",
        )
    console.print(table)
    for r in runs:
        spent = Table(title=f"{r.database}: where the serial stage's time went")
        for column in ("statement", "count", "seconds", "share"):
            spent.add_column(column, justify="right")
        for kind, (count, seconds) in sorted(r.sql.items(), key=lambda kv: -kv[1][1]):
            share = seconds / r.serial_seconds if r.serial_seconds else 0.0
            spent.add_row(kind, str(int(count)), f"{seconds:.3f}", f"{share:.0%}")
        python = max(r.serial_seconds - r.sql_seconds, 0.0)
        share = python / r.serial_seconds if r.serial_seconds else 0.0
        spent.add_row("(Python, driver, commits)", "", f"{python:.3f}", f"{share:.0%}")
        console.print(spent)
        console.print(
            f"{r.database}: {r.n:,} readers inserted in {r.insert_seconds:.1f} s (setup, untimed)"
        )
        if r.profile:
            console.print(r.profile, markup=False, highlight=False)
    for r in runs:
        verdict = "meets" if r.serial_seconds < TARGET_SECONDS else "MISSES"
        console.print(
            f"{r.database}: {r.serial_rows:,} rows in {r.serial_seconds:.2f} s "
            f"({r.rate:,.0f} rows/s): {verdict} the {TARGET_SECONDS:.0f} s target"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--db", choices=("both", "postgresql", "sqlite"), default="both")
    parser.add_argument("--profile", action="store_true", help="cProfile the serial stage")
    parser.add_argument(
        "--chunk",
        type=int,
        default=tick.SERIAL_CHUNK,
        help="diagnosis only: release this many per transaction instead of the tick's own",
    )
    args = parser.parse_args()
    tick.SERIAL_CHUNK = args.chunk
    runs = []
    with tempfile.TemporaryDirectory(prefix="nl-serial-bench-") as tmp:
        if args.db in ("both", "postgresql"):
            with throwaway_postgres() as url:
                runs.append(measure("postgresql", url, args.n, Path(tmp) / "pg", args.profile))
        if args.db in ("both", "sqlite"):
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            runs.append(measure("sqlite", url, args.n, Path(tmp) / "lite", args.profile))
    report(runs)
    console.print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
