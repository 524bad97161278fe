"""Chaos bench: deliver an issue through real processes while a dependency fails.

    .venv/bin/python bench/chaos.py [--rounds 5] [--subscribers 2000] [--faults kill9,redis]
    make chaos

Private Redis (no persistence) and PostgreSQL servers on free loopback ports, real Celery
worker processes (2 × `-c 2`), a tick loop in this process (every --tick seconds), and an
SMTP sink: Postfix's C `smtp-sink` for plain rounds, the programmable aiosmtpd sink for the
SMTP faults. Each round fans one issue out to N subscribers and injects its fault when
about a third is sent. It prints lost (recipients with no message), duplicates (extra
messages per recipient and Message-ID) and recovery seconds (fault end → last recipient
delivered); a final table sums each fault. Every wait is bounded; rounds end by themselves.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import redis
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chaos_signups import SIGNUPS, signup_round  # noqa: E402  (bench/ is on sys.path)

from newsletter.core import processes  # noqa: E402
from newsletter.core.celery_app import reconfigure  # noqa: E402
from newsletter.core.db.migrate import upgrade  # noqa: E402
from newsletter.core.db.models import Base, Delivery, DeliveryStatus, utcnow  # noqa: E402
from newsletter.core.db.session import dispose_engines, transaction  # noqa: E402
from newsletter.core.settings import reset_settings  # noqa: E402
from newsletter.delivery.tasks import tick_now  # noqa: E402
from tests.support.factories import (  # noqa: E402
    add_subscribers,
    make_series,
    poison,  # noqa: E402
)
from tests.support.servers import PrivatePostgres, PrivateRedis, free_port  # noqa: E402
from tests.support.smtp_sink import SmtpSink  # noqa: E402

FAULTS = ("kill9", "redis", "postgres", "smtp421", "smtp5xx", "poison", "signups")
ROUND_TIMEOUT = 300.0  # seconds a round may take after its fault before it is called lost
SETTLE = 3.0  # seconds to wait after the last recipient for late duplicates
_MID = re.compile(rb"^Message-ID:\s*(\S+)", re.I | re.M)
_RCPT = re.compile(rb"^X-Rcpt-Args:\s*<([^>]*)>", re.M)


class PostfixSink:
    """Postfix's `smtp-sink` appending envelope and message to a dump file (fast, in C)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="sink-", dir=workdir))
        self.dir.chmod(0o777)  # smtp-sink drops to `nobody`
        self.dump = self.dir / "dump"
        binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        args = [binary, "-u", "nobody", "-D", str(self.dump), f"127.0.0.1:{self.port}", "256"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)

    url = property(lambda self: f"smtp://127.0.0.1:{self.port}")

    def size(self) -> int:
        return self.dump.stat().st_size if self.dump.exists() else 0

    def counts(self) -> Counter[tuple[str, str]]:
        data = self.dump.read_bytes() if self.dump.exists() else b""
        found: Counter[tuple[str, str]] = Counter()
        for chunk in data.split(b"X-Client-Addr:")[1:]:
            rcpt, mid = _RCPT.search(chunk), _MID.search(chunk)
            found[
                (rcpt.group(1).decode() if rcpt else "?", mid.group(1).decode() if mid else "")
            ] += 1
        return found

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


class AioSink:
    """The aiosmtpd sink (421 and 5xx on demand) behind the same interface."""

    def __init__(self) -> None:
        self.sink = SmtpSink().start()
        self.url = self.sink.url

    def size(self) -> int:
        return self.sink.received

    def counts(self) -> Counter[tuple[str, str]]:
        found: Counter[tuple[str, str]] = Counter()
        for _from, rcpts, data in self.sink.messages:
            mid = _MID.search(data)
            for rcpt in rcpts:
                found[(rcpt, mid.group(1).decode() if mid else "")] += 1
        return found

    def close(self) -> None:
        self.sink.stop()


@dataclass
class RoundResult:
    fault: str
    lost: int
    duplicates: int
    recovery: float | None


class Rig:
    """Servers for the whole run; workers, sink and tick loop per round."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args, self.workdir = args, workdir
        self.redis = PrivateRedis().start()
        self.pg = PrivatePostgres().start()
        admin = create_engine(self.pg.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "chaos"'))
        admin.dispose()
        self.db_url = self.pg.url("chaos")
        upgrade(self.db_url)
        self.workers: list[processes.Proc] = []
        self.spawned = 0

    def configure(self, smtp_url: str, extra: dict[str, str]) -> dict[str, str]:
        for key in [k for k in os.environ if k.startswith("NEWSLETTER_")]:
            del os.environ[key]
        os.environ.update(
            NEWSLETTER_DATA_DIR=str(self.workdir / "var"),
            NEWSLETTER_DATABASE_URL=self.db_url,
            NEWSLETTER_BROKER_URL=self.redis.url,
            NEWSLETTER_SMTP_URL=smtp_url,
            NEWSLETTER_SECRET_KEY="chaos-secret-key-not-for-production",
            NEWSLETTER_BATCH_SIZE="50",
            **extra,
        )
        reset_settings()
        dispose_engines()
        reconfigure()
        return dict(os.environ)

    def start_worker(self, env: dict[str, str]) -> None:
        self.spawned += 1
        args = ["worker", "-Q", "transactional,bulk", "-c", "2", "-l", "info"]
        args += ["-n", f"chaos{self.spawned}@%h", "--without-gossip", "--without-mingle"]
        proc = processes.start(f"worker-{self.spawned}", args, env, self.workdir / "logs")
        processes.wait_ready(proc, timeout=60)
        self.workers.append(proc)

    def kill_one_worker(self) -> None:
        proc = self.workers.pop(0)
        os.killpg(proc.popen.pid, signal.SIGKILL)
        proc.popen.wait(10)

    def stop_workers(self) -> None:
        while self.workers:
            processes.stop(self.workers.pop(), grace=5)

    def reset_data(self) -> None:
        engine = create_engine(self.db_url)
        with engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        engine.dispose()
        redis.Redis.from_url(self.redis.url).flushall()

    def close(self) -> None:
        self.stop_workers()
        dispose_engines()
        self.pg.stop()
        self.redis.stop()


class TickLoop:
    """Beat's job, every `every` seconds, in a thread; failures wait for the next tick."""

    def __init__(self, every: float) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self.thread.start()

    def _run(self, every: float) -> None:
        while not self.stop.wait(every):
            try:
                tick_now(utcnow())
            except Exception as exc:
                print(f"  tick failed: {type(exc).__name__}", flush=True)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(60)


def ledger_sent() -> int:
    try:
        with transaction() as session:
            return (
                session.scalar(select(func.count()).where(Delivery.status == DeliveryStatus.SENT))
                or 0
            )
    except Exception:  # the database may be down mid-fault
        return -1


def create_issue(n: int, fault: str) -> set[str]:
    """Due now; returns the addresses that must get exactly one message."""
    start = utcnow()
    with transaction() as session:
        series = make_series(session, start=start)
        add_subscribers(session, series, n, prefix="reader")
        if fault == "poison":
            bad = make_series(session, slug="poison", start=start)
            poison(session, bad.id, "\x0b")
            add_subscribers(session, bad, max(1, n // 10), prefix="sick")
    return {f"reader{i}@example.org" for i in range(n)}


def run_round(rig: Rig, fault: str, n: int, console: Console) -> RoundResult:
    rig.reset_data()
    aio = fault.startswith("smtp")
    sink: PostfixSink | AioSink = AioSink() if aio else PostfixSink(rig.workdir)
    extra = {"NEWSLETTER_RATE_LIMIT": str(rig.args.rate)}
    env = rig.configure(sink.url, extra)
    expected = create_issue(n, fault)
    refused: set[str] = set()
    if fault == "smtp5xx":
        refused = set(sorted(expected)[::100])
        assert isinstance(sink, AioSink)
        sink.sink.reject(refused)
    ticks: TickLoop | None = None
    try:
        for _ in range(2):
            rig.start_worker(env)
        ticks = TickLoop(rig.args.tick)
        fault_end = inject(rig, fault, sink, n, env)
        recovery = wait_delivered(sink, len(expected - refused), fault_end)
    finally:
        if ticks is not None:
            ticks.close()
        rig.stop_workers()
    counts = sink.counts()
    sink.close()
    per_rcpt: Counter[str] = Counter()
    for (rcpt, _mid), k in counts.items():
        per_rcpt[rcpt] += k
    duplicates = sum(k - 1 for k in per_rcpt.values())  # a resend has its own Message-ID
    lost = len((expected - refused) - set(per_rcpt))
    duplicates += sum(1 for r in per_rcpt if r in refused or r.startswith("sick"))  # must get none
    result = RoundResult(fault, lost, duplicates, recovery)
    shown = "—" if recovery is None else f"{recovery:.1f} s"
    console.print(f"  {fault}: lost {lost}, duplicated {duplicates}, recovery {shown}")
    return result


def run_signups(rig: Rig, every: float, console: Console) -> RoundResult:
    """Broker down while people sign up: one identical 200 page, every confirmation later."""
    lost, duplicates, recovery, note = signup_round(rig, make_series, TickLoop, every)
    shown = "—" if recovery is None else f"{recovery:.1f} s"
    console.print(
        f"  signups: {note}; lost {lost}, duplicated {duplicates} of {SIGNUPS}, recovery {shown}"
    )
    return RoundResult("signups", lost, duplicates, recovery)


def inject(rig: Rig, fault: str, sink: PostfixSink | AioSink, n: int, env: dict[str, str]) -> float:
    """Wait until a third is sent, cause the fault; returns when it ended (monotonic)."""
    if fault in ("smtp5xx", "poison"):
        return time.monotonic()  # the fault is there from the start
    deadline = time.monotonic() + 120
    while ledger_sent() < n // 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    if fault == "kill9":
        rig.kill_one_worker()
        ended = time.monotonic()
        rig.start_worker(env)
        return ended
    if fault == "redis":
        rig.redis.restart(down=2.0)
    elif fault == "postgres":
        rig.pg.restart()
    elif fault == "smtp421":
        assert isinstance(sink, AioSink)
        sink.sink.fail_transient_for(seconds=rig.args.storm)
        return time.monotonic() + rig.args.storm
    return time.monotonic()


def wait_delivered(sink: PostfixSink | AioSink, expected: int, fault_end: float) -> float | None:
    """Seconds from the fault's end to the last message, once the ledger has them all."""
    deadline = time.monotonic() + ROUND_TIMEOUT
    last_size, last_at = -1, time.monotonic()
    while time.monotonic() < deadline:
        size = sink.size()
        if size != last_size:
            last_size, last_at = size, time.monotonic()
        if ledger_sent() >= expected and time.monotonic() - last_at > SETTLE:
            return max(0.0, last_at - fault_end)
        time.sleep(0.2)
    return None


def report(results: list[RoundResult], console: Console, title: str) -> None:
    table = Table(title=title)
    for name in ("fault", "rounds", "lost", "duplicates", "recovery median", "recovery max"):
        table.add_column(name, justify="left" if name == "fault" else "right")
    for fault in FAULTS:
        rows = [r for r in results if r.fault == fault]
        if not rows:
            continue
        times = [r.recovery for r in rows if r.recovery is not None]
        unrecovered = len(rows) - len(times)
        median = f"{statistics.median(times):.1f} s" if times else "—"
        worst = f"{max(times):.1f} s" if times else "—"
        if unrecovered:
            worst += f" ({unrecovered} timed out)"
        table.add_row(
            fault,
            str(len(rows)),
            str(sum(r.lost for r in rows)),
            str(sum(r.duplicates for r in rows)),
            median,
            worst,
        )
    console.print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per fault")
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--faults", default=",".join(FAULTS), help="comma-separated subset")
    parser.add_argument("--quick", action="store_true", help="1 round × 300 subscribers")
    parser.add_argument("--tick", type=float, default=5.0, help="seconds between ticks")
    parser.add_argument("--storm", type=float, default=15.0, help="seconds of 421")
    parser.add_argument("--rate", type=float, default=0.0, help="NEWSLETTER_RATE_LIMIT")
    parser.add_argument("--smtp-subscribers", type=int, default=0, help="N for SMTP faults")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.subscribers = 1, 300
    faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = set(faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")
    console = Console() if sys.stdout.isatty() else Console(width=110)
    results: list[RoundResult] = []
    with tempfile.TemporaryDirectory(prefix="nl-chaos-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)
        rig = Rig(args, workdir)
        try:
            for fault in faults:
                n = args.smtp_subscribers or args.subscribers
                n = n if fault.startswith("smtp") else args.subscribers
                for number in range(1, args.rounds + 1):
                    if fault == "signups":
                        console.print(f"[bold]signups[/] round {number}/{args.rounds}")
                        results.append(run_signups(rig, args.tick, console))
                        continue
                    console.print(
                        f"[bold]{fault}[/] round {number}/{args.rounds}, {n:,} subscribers"
                    )
                    results.append(run_round(rig, fault, n, console))
        finally:
            rig.close()
    report(results, console, f"bench/chaos.py: tick every {args.tick:g} s, lease 300 s")
    return 0 if all(r.lost == 0 and r.duplicates == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
