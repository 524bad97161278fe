"""Delivery benchmark: one issue to N subscribers through the real pipeline, unsigned and
DKIM-signed, against Postfix's C `smtp-sink`, in one run.

    .venv/bin/python bench/deliver.py [--n 5000] [--workers 2] [--batch-size 200]
        [--variants unsigned,rsa,ed25519,both] [--rounds 1] [--sink postfix|aiosmtpd]

For each variant (no DKIM; RSA-2048; Ed25519; both signatures on every message), each round:
1. creates a throwaway PostgreSQL database (dropped at the end) and N confirmed subscribers;
2. schedules one issue (part 1 of the seed series);
3. starts a real Celery worker (`-c WORKERS`) on a spare Redis DB number, with that
   variant's NEWSLETTER_DKIM_* keys (made for the run), sending to the one sink;
4. runs one tick in this process (fan-out INSERT … SELECT, claim, enqueue) and times it, then
   waits until the ledger says `sent` (a 250 from the sink) for every row.
Then it measures the raw ceiling: plain smtplib over one connection, same sink, the
unsigned message's bytes. It prints the first unsigned round in detail (msg/s, the ratio to
the ceiling, worker peak RSS, SQL statements per 1,000) and a table of every variant's
best round with its ratio to unsigned.

The sink is `smtp-sink` (Debian `postfix`, installed on first use): the aiosmtpd sink parses
every message in Python and is slower than the pipeline, which would hide its cost.
Targets (issues 4 and 12, this 2-core machine): >= 1,000 msg/s, ratio to raw >= 0.6, enqueue
of 100k <= 5 s, worker RSS <= 150 MB, signed msg/s >= 0.8 x unsigned.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis
from _infra import (
    ROOT,
    PostfixSink,
    Processes,
    SinkProcess,
    spare_redis_db,
    throwaway_postgres,
    wait_worker,
)
from _measure import (
    MB,
    SIGN_KEY,
    SQL_KEY,
    RssSampler,
    SqlCounter,
    raw_smtp_rate,
    tree_cpu_seconds,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from newsletter.content import load_series
from newsletter.core.celery_app import reconfigure
from newsletter.core.db.migrate import upgrade
from newsletter.core.db.models import Delivery, DeliveryStatus, Issue, Series, Subscriber, utcnow
from newsletter.core.db.session import dispose_engines, transaction
from newsletter.core.settings import get_settings, reset_settings
from newsletter.delivery import fanout
from newsletter.delivery.compose import Recipient, compose, rendered_issue
from newsletter.delivery.identity import Identity
from newsletter.delivery.tasks import publishing, send_batch_later
from newsletter.delivery.tick import run_tick
from newsletter.mail.message import make_message_id
from newsletter.scheduling.series import create_series, reschedule
from newsletter.subscribers.importer import import_rows, parse_rows

TARGET_RATE = 1000.0
TARGET_RATIO = 0.6
TARGET_ENQUEUE_100K = 5.0
TARGET_RSS_MB = 150.0
TARGET_SIGNED = 0.8  # signed msg/s over unsigned msg/s, same run
VARIANTS = (
    "unsigned",
    "rsa-before",
    "rsa",
    "ed25519-before",
    "ed25519",
    "both-before",
    "both",
)
# The "-before" variants sign with the signer as it was before its per-key layout
# (bench/_dkim_before.py, swapped in by _bench_worker): before/after in one run.
BEFORE = "BENCH_DKIM_BEFORE"


@dataclass
class Result:
    n: int
    workers: int
    variant: str = "unsigned"
    create_subscribers: float = 0.0
    fan_out: float = 0.0
    tick: float = 0.0
    first_enqueue: float = 0.0
    batches: int = 0
    sink_done: float = 0.0
    ledger_done: float = 0.0
    sent: int = 0
    raw_rate: float = 0.0
    raw_n: int = 0
    tick_sql: int = 0
    worker_sql: int = 0
    signing_ns: int = 0  # in DkimSigner.sign, all pool processes together
    worker_cpu: float = 0.0  # CPU seconds of the worker tree while this round sent
    rss_peak: tuple[int, int] = (0, 0)
    rss_checkpoints: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.sent / self.ledger_done if self.ledger_done else 0.0

    @property
    def ratio(self) -> float:
        return self.rate / self.raw_rate if self.raw_rate else 0.0


def configure(
    db_url: str,
    broker_url: str,
    smtp_url: str,
    data_dir: Path,
    batch: int,
    dkim: dict[str, str] | None = None,
) -> None:
    """Point this process (and, through the environment, the worker) at the bench's infra."""
    for key in [k for k in os.environ if k.startswith("NEWSLETTER_") or k == BEFORE]:
        del os.environ[key]
    os.environ.update(
        NEWSLETTER_DATA_DIR=str(data_dir),
        NEWSLETTER_DATABASE_URL=db_url,
        NEWSLETTER_BROKER_URL=broker_url,
        NEWSLETTER_SMTP_URL=smtp_url,
        NEWSLETTER_SECRET_KEY="bench-secret-key-not-for-production",
        NEWSLETTER_BATCH_SIZE=str(batch),
        NEWSLETTER_RATE_LIMIT="0",
        PYTHONPATH=os.pathsep.join([str(ROOT / "bench"), str(ROOT)]),
        **(dkim or {}),
    )
    reset_settings()
    dispose_engines()
    reconfigure()


def subscribers_csv(n: int) -> str:
    lines = ["email,name"]
    lines += [f"reader{i}@bench.example.com,Reader {i}" for i in range(1, n + 1)]
    return "\n".join(lines) + "\n"


def create_audience(n: int) -> tuple[int, str, float]:
    """The seed series (broadcast, due tomorrow) and N confirmed subscribers via the importer."""
    series = load_series(ROOT / "content" / "tech-labor-and-ai")
    start = (utcnow() + dt.timedelta(days=1)).replace(second=0, microsecond=0)
    began = time.perf_counter()
    with transaction() as session:
        row = create_series(session, series.slug, series, "daily", start, "UTC", "broadcast")
        rows, bad = parse_rows(subscribers_csv(n), "bench")
        report = import_rows(session, rows, bad, series.slug, confirmed=True)
        assert report.imported == n, report.bad[:3]
        series_id = row.id
    return series_id, series.slug, time.perf_counter() - began


def make_part_one_due(slug: str) -> None:
    """Move part 1 to one second from now (through the scheduling service) and wait for it."""
    when = utcnow() + dt.timedelta(seconds=1)
    with transaction() as session:
        reschedule(session, slug, 1, when, only=True)
    time.sleep(max(0.0, (when - utcnow()).total_seconds()) + 0.05)


def part_one(series_id: int) -> int:
    """The id of part 1's Issue row."""
    with transaction() as session:
        return session.scalar(
            select(Issue.id).where(Issue.series_id == series_id, Issue.number == 1)
        )


def sample_message(series_id: int, issue_id: int) -> tuple[str, str, bytes]:
    """(sender, recipient, bytes) of part 1 for one subscriber, built by the pipeline's composer."""
    identity = Identity.from_settings(get_settings())
    with transaction() as session:
        person = session.scalars(select(Subscriber).order_by(Subscriber.id).limit(1)).one()
        series = session.get_one(Series, series_id)
        issue = rendered_issue(session, issue_id, series_id, 1)
        to = Recipient(
            delivery_id=1,
            subscriber_id=person.id,
            email=person.email or "",
            name=person.name,
            issue_id=issue_id,
            series_id=series_id,
            series_slug=series.slug,
            series_title=series.title,
            number=1,
            message_id=make_message_id(1, identity.domain),
        )
        return identity.address, to.email, compose(identity, issue, to)


def timed_tick(result: Result) -> None:
    """One tick with the fan-out and the first enqueue timed (bench-only wrappers)."""
    original = fanout.fan_out_issue
    began = time.perf_counter()

    def fan_out(*args: object, **kwargs: object) -> int | None:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            result.fan_out += time.perf_counter() - start

    def enqueue(ids: list[int]) -> None:
        if not result.batches:
            result.first_enqueue = time.perf_counter() - began
        result.batches += 1
        send_batch_later(ids)

    fanout.fan_out_issue = fan_out
    try:
        with SqlCounter() as counter, publishing():
            tick = run_tick(None, enqueue=enqueue)
    finally:
        fanout.fan_out_issue = original
    result.tick = time.perf_counter() - began
    result.tick_sql = counter.count
    assert tick.claimed == result.n, f"the tick claimed {tick.claimed} of {result.n}"


def ledger_sent(issue_id: int) -> int:
    """Rows of this issue the ledger records as accepted by the SMTP server."""
    with transaction() as session:
        return (
            session.scalar(
                select(func.count()).where(
                    Delivery.issue_id == issue_id, Delivery.status == DeliveryStatus.SENT
                )
            )
            or 0
        )


def wait_until(condition: Callable[[], bool], timeout: float, alive: Callable[[], None]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the deliveries; see the worker log")
        alive()
        time.sleep(0.05)


def deliver(
    result: Result,
    args: argparse.Namespace,
    sink: SinkProcess | PostfixSink,
    slug: str,
    issue_id: int,
    log_dir: Path,
    console: Console,
) -> None:
    """Steps 3-4: a real worker on Redis, one timed tick, then wait for sink and ledger."""
    with Processes(dict(os.environ), log_dir) as supervisor:
        worker = supervisor.worker(
            args.workers, "--without-heartbeat", app="_bench_worker", node="bench@%h"
        )
        wait_worker(worker, timeout=60)
        sampler = RssSampler(worker.popen.pid)
        sampler.start()
        make_part_one_due(slug)
        cpu_before = tree_cpu_seconds(worker.popen.pid)

        console.print(f"{result.variant}: tick: fan-out, claim, enqueue …")
        began = time.perf_counter()
        timed_tick(result)
        console.print(f"{result.variant}: sending {args.n:,} messages, {args.workers} workers …")
        checkpoint = min(10_000, args.n)
        # The aiosmtpd sink counts what it received; smtp-sink counts nothing, and there
        # the ledger's `sent` (a 250 from the sink) is the measure for both checkpoints.
        if sink.received is None:
            sent_so_far: Callable[[], int] = lambda: ledger_sent(issue_id)  # noqa: E731
        else:
            sent_so_far = lambda: int(sink.received or 0)  # noqa: E731
        wait_until(lambda: sent_so_far() >= checkpoint, 600, supervisor.check_alive)
        sampler.checkpoint(f"{checkpoint // 1000}k")
        wait_until(lambda: sent_so_far() >= args.n, 1800, supervisor.check_alive)
        result.sink_done = time.perf_counter() - began
        wait_until(lambda: ledger_sent(issue_id) >= args.n, 120, supervisor.check_alive)
        result.ledger_done = time.perf_counter() - began
        result.sent = ledger_sent(issue_id)
        result.worker_cpu = tree_cpu_seconds(worker.popen.pid) - cpu_before
        sampler.checkpoint("end")
        sampler.stop()
    result.rss_peak = (sampler.peak.largest, sampler.peak.total)
    result.rss_checkpoints = {k: (v.largest, v.total) for k, v in sampler.checkpoints.items()}


def dkim_keys(directory: Path) -> dict[str, dict[str, str]]:
    """NEWSLETTER_DKIM_* for each variant, with an RSA-2048 and an Ed25519 key made now."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    files = {}
    for name, key in (("rsa.pem", rsa_key), ("ed25519.pem", ed_key)):
        path = directory / name
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
        files[name] = str(path)
    rsa_env = {
        "NEWSLETTER_DKIM_DOMAIN": "example.com",
        "NEWSLETTER_DKIM_SELECTOR": "bench",
        "NEWSLETTER_DKIM_PRIVATE_KEY_FILE": files["rsa.pem"],
    }
    ed_env = {
        "NEWSLETTER_DKIM_DOMAIN": "example.com",
        "NEWSLETTER_DKIM_ED25519_SELECTOR": "bench-ed",
        "NEWSLETTER_DKIM_ED25519_PRIVATE_KEY_FILE": files["ed25519.pem"],
    }
    envs = {"unsigned": {}, "rsa": rsa_env, "ed25519": ed_env, "both": rsa_env | ed_env}
    for variant in ("rsa", "ed25519", "both"):
        envs[f"{variant}-before"] = envs[variant] | {BEFORE: "1"}
    return envs


@dataclass
class Run:
    """Every round of one bench run, and the raw ceiling measured once on the same sink."""

    rounds: list[Result] = field(default_factory=list)
    raw_rate: float = 0.0
    raw_n: int = 0
    message_size: int = 0

    def best(self, variant: str) -> Result | None:
        found = [r for r in self.rounds if r.variant == variant]
        return max(found, key=lambda r: r.rate) if found else None


def run_round(
    variant: str,
    dkim: dict[str, str],
    args: argparse.Namespace,
    sink: SinkProcess | PostfixSink,
    tmp: Path,
    console: Console,
) -> tuple[Result, tuple[str, str, bytes]]:
    """One variant, one round, in its own database and Redis DB; returns the result and a
    sample message (sender, recipient, bytes) for the raw ceiling."""
    result = Result(n=args.n, workers=args.workers, variant=variant)
    with contextlib.ExitStack() as stack:
        db_url = stack.enter_context(throwaway_postgres())
        broker_url = stack.enter_context(spare_redis_db())
        stack.callback(dispose_engines)  # before the database is dropped
        data_dir = Path(tempfile.mkdtemp(prefix=f"{variant}-", dir=tmp))
        configure(db_url, broker_url, sink.url, data_dir, args.batch_size, dkim)
        upgrade(db_url)
        console.print(f"{variant}: creating {args.n:,} subscribers …")
        series_id, slug, result.create_subscribers = create_audience(args.n)
        issue_id = part_one(series_id)
        deliver(result, args, sink, slug, issue_id, data_dir / "logs", console)
        counters = redis.Redis.from_url(broker_url)
        result.worker_sql = int(counters.get(SQL_KEY) or 0)
        result.signing_ns = int(counters.get(SIGN_KEY) or 0)
        sample = sample_message(series_id, issue_id)
    return result, sample


def run(args: argparse.Namespace, console: Console) -> Run:
    outcome = Run()
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(PostfixSink() if args.sink == "postfix" else SinkProcess())
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nl-bench-")))
        envs = dkim_keys(tmp)
        unsigned_sample = None
        # Variants interleave round by round, so a slow spell on a shared machine does not
        # fall on one variant only.
        for _ in range(args.rounds):
            for variant in args.variants:
                result, sample = run_round(variant, envs[variant], args, sink, tmp, console)
                outcome.rounds.append(result)
                if variant == "unsigned":
                    unsigned_sample = sample
        assert unsigned_sample is not None  # main() insists on the unsigned variant
        console.print("raw ceiling: smtplib over one connection …")
        sender, recipient, data = unsigned_sample
        outcome.message_size = len(data)
        outcome.raw_n = min(args.raw_n, args.n)
        outcome.raw_rate = raw_smtp_rate(sink.url, sender, recipient, data, outcome.raw_n)
        for result in outcome.rounds:
            result.raw_rate, result.raw_n = outcome.raw_rate, outcome.raw_n
    return outcome


def mb(value: int) -> str:
    return f"{value / MB:,.0f} MB"


def report(result: Result, console: Console) -> bool:
    per_k = 1000 / result.n
    rss_largest_mb = result.rss_peak[0] / MB
    checkpoints = ", ".join(
        f"{name}: {mb(largest)}" for name, (largest, _total) in result.rss_checkpoints.items()
    )
    rows = [
        ("subscribers created (CSV importer)", f"{result.create_subscribers:.2f} s", "", None),
        ("fan-out (INSERT … SELECT)", f"{result.fan_out:.2f} s", "", None),
        ("first batch enqueued after", f"{result.first_enqueue:.2f} s", "", None),
        (
            f"tick total: fan-out + claim + enqueue ({result.batches} batches)",
            f"{result.tick:.2f} s",
            "≤ 5 s for 100k",
            result.tick <= TARGET_ENQUEUE_100K if result.n >= 100_000 else None,
        ),
        (
            "tick rate (rows created and enqueued / s)",
            f"{result.n / result.tick:,.0f}",
            f"≥ {100_000 / TARGET_ENQUEUE_100K:,.0f}",
            result.n / result.tick >= 100_000 / TARGET_ENQUEUE_100K,
        ),
        ("all accepted by the sink", f"{result.sink_done:.2f} s", "", None),
        ("all `sent` in the ledger (end to end)", f"{result.ledger_done:.2f} s", "", None),
        (
            "pipeline msg/s",
            f"{result.rate:,.0f}",
            f"≥ {TARGET_RATE:,.0f}",
            result.rate >= TARGET_RATE,
        ),
        (f"raw smtplib msg/s ({result.raw_n:,} msgs)", f"{result.raw_rate:,.0f}", "", None),
        (
            "ratio pipeline / raw",
            f"{result.ratio:.2f}",
            f"≥ {TARGET_RATIO}",
            result.ratio >= TARGET_RATIO,
        ),
        (
            "worker peak RSS, largest process",
            mb(result.rss_peak[0]),
            f"≤ {TARGET_RSS_MB:.0f} MB",
            rss_largest_mb <= TARGET_RSS_MB,
        ),
        ("worker peak RSS, whole tree", mb(result.rss_peak[1]), "", None),
        ("worker RSS over the run (largest)", checkpoints, "flat", None),
        (
            "SQL statements / 1,000 msgs (workers; executemany rows each count)",
            f"{result.worker_sql * per_k:,.0f}",
            "",
            None,
        ),
        ("SQL statements / 1,000 msgs (tick)", f"{result.tick_sql * per_k:,.1f}", "", None),
    ]
    table = Table(title=f"bench/deliver.py: {result.n:,} messages, {result.workers} workers")
    for name in ("metric", "value", "target", "met"):
        table.add_column(name, justify="left" if name == "metric" else "right")
    for metric, value, target, met in rows:
        verdict = "" if met is None else ("[green]yes[/]" if met else "[red]no[/]")
        table.add_row(metric, value, target, verdict)
    console.print(table)
    return all(met for *_rest, met in rows if met is not None)


def compare(outcome: Run, console: Console) -> bool:
    """Every variant's best round beside unsigned and the raw ceiling; True when each
    signed variant keeps TARGET_SIGNED of the unsigned rate."""
    unsigned = outcome.best("unsigned")
    assert unsigned is not None
    table = Table(
        title=(
            f"DKIM cost: {unsigned.n:,} messages, {unsigned.workers} workers, "
            f"best of {sum(r.variant == 'unsigned' for r in outcome.rounds)} round(s)"
        )
    )
    columns = ("variant", "msg/s", "÷ unsigned", "÷ raw", "sign µs/msg", "worker CPU µs/msg")
    for name in (*columns, "CPU: unsigned ÷ this", "target", "met"):
        table.add_column(name, justify="left" if name == "variant" else "right")
    met = True
    labels = {
        "unsigned": "unsigned",
        "rsa": "RSA-2048",
        "ed25519": "Ed25519",
        "both": "RSA + Ed25519",
        "rsa-before": "RSA-2048, old signer",
        "ed25519-before": "Ed25519, old signer",
        "both-before": "RSA + Ed25519, old signer",
    }
    for variant in VARIANTS:
        best = outcome.best(variant)
        if best is None:
            continue
        ratio = best.rate / unsigned.rate if unsigned.rate else 0.0
        signed = variant != "unsigned"
        ok = ratio >= TARGET_SIGNED if signed else None
        met = met and ok is not False
        table.add_row(
            labels[variant],
            f"{best.rate:,.0f}",
            f"{ratio:.2f}",
            f"{best.rate / outcome.raw_rate:.2f}" if outcome.raw_rate else "",
            f"{best.signing_ns / 1000 / best.n:,.0f}" if signed else "",
            f"{best.worker_cpu * 1e6 / best.n:,.0f}",
            f"{unsigned.worker_cpu / best.worker_cpu:.2f}" if best.worker_cpu else "",
            f"≥ {TARGET_SIGNED}" if signed else "",
            "" if ok is None else ("[green]yes[/]" if ok else "[red]no[/]"),
        )
    table.add_row(
        f"raw smtplib ({outcome.raw_n:,} × {outcome.message_size / 1024:.1f} KiB)",
        f"{outcome.raw_rate:,.0f}",
        "",
        "1.00",
        "",
        "",
        "",
        "",
        "",
    )
    console.print(table)
    rates = ", ".join(f"{r.variant} {r.rate:,.0f}" for r in outcome.rounds)
    console.print(f"every round, in order (msg/s): {rates}", highlight=False)
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5_000, help="subscribers (messages)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (-c)")
    parser.add_argument("--batch-size", type=int, default=200, help="NEWSLETTER_BATCH_SIZE")
    parser.add_argument(
        "--raw-n", type=int, default=20_000, help="messages for the raw ceiling (≤ N)"
    )
    parser.add_argument(
        "--variants",
        default="unsigned,rsa,ed25519,both",
        help=f"comma-separated, from {', '.join(VARIANTS)}; unsigned is always run",
    )
    parser.add_argument("--rounds", type=int, default=1, help="rounds of every variant")
    parser.add_argument(
        "--sink",
        choices=("postfix", "aiosmtpd"),
        default="postfix",
        help="Postfix's C smtp-sink, or the (slower) aiosmtpd sink",
    )
    args = parser.parse_args()
    chosen = {v.strip() for v in args.variants.split(",") if v.strip()} | {"unsigned"}
    if not chosen <= set(VARIANTS):
        parser.error(f"unknown variant: {', '.join(sorted(chosen - set(VARIANTS)))}")
    args.variants = [v for v in VARIANTS if v in chosen]
    # Wide enough for the table when the output is a file or a pipe.
    console = Console() if sys.stdout.isatty() else Console(width=110)
    outcome = run(args, console)
    first = next(r for r in outcome.rounds if r.variant == "unsigned")
    met = report(first, console)
    return 0 if compare(outcome, console) and met else 1


if __name__ == "__main__":
    sys.exit(main())
