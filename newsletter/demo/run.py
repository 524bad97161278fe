"""`newsletter demo`: the product's main job, end to end, on a laptop with nothing running.

1. migrate a fresh database and import the seed series from content/ (importing the seed
   manuscript into content/ first if the folder is missing);
2. add 1,000 confirmed demo subscribers through the bulk CSV importer;
3. schedule the four parts a few seconds apart (broadcast mode);
4. start a real Celery worker and a real Celery beat (ticking every 0.5 s);
5. deliver every part, with one progress bar per part read from the delivery ledger;
6. print a summary table and where the outbox, the previews and the logs are.

Everything lives in `<NEWSLETTER_DATA_DIR>/demo` (`var/demo` by default), which is deleted
at the start of every run. SQLite, the embedded filesystem broker and the Maildir outbox are
used unless NEWSLETTER_DATABASE_URL / BROKER_URL / SMTP_URL say otherwise.

The cadence parser's smallest step is an hour, so the series is created `daily` and each part
is then moved a few seconds apart with the scheduling service's `reschedule(..., only=True)`,
once the worker is ready (so the schedule does not run out while Celery boots).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console
from sqlalchemy import delete

from newsletter import content
from newsletter.content.sample import SAMPLE_MANUSCRIPT, SAMPLE_SLUG
from newsletter.core.db import dialect
from newsletter.core.db.migrate import upgrade
from newsletter.core.db.models import Series, Subscriber, utcnow
from newsletter.core.db.session import dispose_engines, transaction
from newsletter.core.errors import UserError
from newsletter.core.processes import Supervisor, wait_ready
from newsletter.core.settings import Settings, get_settings, reset_settings
from newsletter.demo.people import people, people_csv
from newsletter.demo.watch import PartStats, poll, summary_table, watch
from newsletter.mail.transport import outbox_path
from newsletter.render import render_issue, sample_values
from newsletter.scheduling.series import create_series, reschedule, series_content
from newsletter.subscribers.importer import import_rows, parse_rows

QUEUES = "transactional,bulk"


@dataclass(frozen=True)
class DemoOptions:
    subscribers: int = 1000
    gap: float = 3.0  # seconds between parts
    lead: float = 1.0  # seconds from "worker ready" to part 1
    concurrency: int = 2
    tick_seconds: float = 0.5
    timeout: float = 90.0  # for the deliveries, after part 4 is due


@dataclass
class DemoReport:
    demo_dir: Path
    parts: list[PartStats] = field(default_factory=list)
    expected: int = 0
    outbox: Path | None = None
    outbox_files: int | None = None
    previews: Path | None = None
    seconds: float = 0.0

    @property
    def delivered(self) -> int:
        return sum(part.sent for part in self.parts)

    @property
    def complete(self) -> bool:
        return bool(self.parts) and self.delivered == self.expected


def demo_dir() -> Path:
    return get_settings().data_dir.resolve() / "demo"


@contextlib.contextmanager
def demo_environment(path: Path, options: DemoOptions) -> Iterator[dict[str, str]]:
    """Point this process and its children at the demo dir; restore the environment after."""
    saved = dict(os.environ)
    os.environ["NEWSLETTER_DATA_DIR"] = str(path)
    os.environ["NEWSLETTER_TICK_SECONDS"] = str(options.tick_seconds)
    # One key for the demo process and the worker, without the "generated a key" warning.
    os.environ.setdefault("NEWSLETTER_SECRET_KEY", secrets.token_urlsafe(32))
    reset_settings()
    dispose_engines()
    try:
        yield dict(os.environ)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_settings()
        dispose_engines()


def uses_local_database(settings: Settings) -> bool:
    return settings.database_url is None and dialect.is_sqlite_url(settings.resolved_database_url)


def load_seed_series(settings: Settings) -> content.Series:
    """content/tech-labor-and-ai, importing it from the sample manuscript if it is missing."""
    folder = settings.content_dir / SAMPLE_SLUG
    if not folder.is_dir():
        series = content.load_manuscript(SAMPLE_MANUSCRIPT, slug=SAMPLE_SLUG)
        content.write_series(series, settings.content_dir)
    return content.load_series(folder)


def forget_previous_demo(slug: str, count: int) -> None:
    """On a shared database, remove what an earlier demo run left: its series and people.

    Only rows the demo itself creates are touched: the series with the demo slug and the
    demo's own addresses (deterministic, at reserved example domains).
    """
    keys = [email for email, _ in people(count)]
    with transaction() as session:
        session.execute(delete(Series).where(Series.slug == slug))
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            session.execute(delete(Subscriber).where(Subscriber.email_key.in_(chunk)))


def create_series_and_audience(slug: str, series: content.Series, count: int) -> tuple[int, int]:
    """(series id, subscribers imported): the series far in the future, people confirmed."""
    start = (utcnow() + dt.timedelta(days=1)).replace(second=0, microsecond=0)
    with transaction() as session:
        row = create_series(session, slug, series, "daily", start, "UTC", "broadcast")
        rows, bad = parse_rows(people_csv(count), "demo subscribers")
        report = import_rows(session, rows, bad, slug, confirmed=True)
        if report.bad:
            raise UserError(f"{len(report.bad)} demo subscribers were rejected")
        return row.id, report.imported


def schedule_parts(slug: str, parts: int, lead: float, gap: float) -> list[dt.datetime]:
    """Move part n to now + lead + (n-1)·gap (UTC series, so local time is UTC)."""
    first = utcnow() + dt.timedelta(seconds=lead)
    times = [first + dt.timedelta(seconds=gap * k) for k in range(parts)]
    with transaction() as session:
        for number, when in enumerate(times, start=1):
            reschedule(session, slug, number, when, only=True)
    return times


def write_previews(series_id: int, out: Path) -> Path:
    """HTML and text previews of every part, as a sample subscriber would see them."""
    with transaction() as session:
        series = series_content(session, series_id)
    out.mkdir(parents=True, exist_ok=True)
    for essay in series.essays:
        rendered = render_issue(series, essay.number)
        html, text = rendered.personalise(sample_values(series.slug, essay.number))
        stem = f"{essay.number:02d}-{essay.slug}"
        (out / f"{stem}.html").write_text(html, encoding="utf-8")
        (out / f"{stem}.txt").write_text(text, encoding="utf-8")
    return out


def count_outbox(path: Path) -> int:
    return sum(1 for sub in ("new", "cur") if (path / sub).is_dir() for _ in (path / sub).iterdir())


def smtp_target(url: str) -> str:
    """The SMTP URL without credentials, for display."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"


def worker_args(concurrency: int) -> list[str]:
    """The production worker command, minus gossip/mingle (one node: nothing to sync)."""
    return [
        "worker",
        "-Q",
        QUEUES,
        "-c",
        str(concurrency),
        "-n",
        "demo@%h",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
    ]


def prepare(options: DemoOptions, settings: Settings, console: Console) -> tuple[int, str, int]:
    """Steps 1-2: (series id, slug, subscribers) with previews written."""
    local_db = uses_local_database(settings)
    slug = SAMPLE_SLUG if local_db else f"demo-{SAMPLE_SLUG}"
    console.rule("[bold]1 · database and series")
    upgrade(settings.resolved_database_url)
    if not local_db:
        forget_previous_demo(slug, options.subscribers)
    series = load_seed_series(settings)
    console.print(f"{series.title!r}: {len(series.essays)} essays from content/{SAMPLE_SLUG}")

    console.rule("[bold]2 · subscribers")
    series_id, imported = create_series_and_audience(slug, series, options.subscribers)
    console.print(f"{imported:,} confirmed subscribers imported")
    return series_id, slug, imported


def deliver(
    options: DemoOptions,
    env: dict[str, str],
    report: DemoReport,
    series_id: int,
    slug: str,
    subscribers: int,
    console: Console,
) -> list[PartStats]:
    """Steps 3-5: worker and beat up, parts scheduled, bars until every part is final."""
    console.rule("[bold]3-4 · worker, beat and schedule")
    with Supervisor(env, report.demo_dir / "logs") as supervisor:
        worker = supervisor.start("worker", worker_args(options.concurrency))
        supervisor.start("beat", ["beat", "--loglevel", "INFO"])
        ready = wait_ready(worker, timeout=60)
        console.print(f"worker ready in {ready:.1f} s; beat ticks every {options.tick_seconds} s")
        parts = len(poll(series_id))
        times = schedule_parts(slug, parts, options.lead, options.gap)
        console.print(
            f"parts due at {', '.join(f'{t:%H:%M:%S}' for t in times)} UTC, {options.gap:g} s apart"
        )
        console.rule("[bold]5 · delivering")
        return watch(
            series_id,
            subscribers,
            console,
            timeout=options.lead + options.gap * parts + options.timeout,
            check_alive=supervisor.check_alive,
        )


def run_demo(options: DemoOptions, console: Console) -> DemoReport:
    """Run the whole demo; the worker and beat are stopped whatever happens."""
    started = time.monotonic()
    path = demo_dir()
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    console.print(f"demo data dir: {path} (wiped at every run)")
    report = DemoReport(demo_dir=path)
    with demo_environment(path, options) as env:
        settings = get_settings()
        series_id, slug, subscribers = prepare(options, settings, console)
        report.previews = write_previews(series_id, path / "previews")
        report.expected = subscribers * len(poll(series_id))
        deliver(options, env, report, series_id, slug, subscribers, console)
        report.parts = poll(series_id)  # the final ledger, after the worker has stopped
        if settings.smtp_url is None:
            report.outbox = outbox_path(settings).resolve()
            report.outbox_files = count_outbox(report.outbox)
    report.seconds = time.monotonic() - started
    return report


def print_report(report: DemoReport, console: Console, smtp_url: str | None) -> None:
    console.rule("[bold]6 · summary")
    console.print(summary_table(report.parts))
    if report.outbox is not None:
        console.print(f"outbox:   {report.outbox}  ({report.outbox_files:,} messages, Maildir)")
    elif smtp_url:
        console.print(f"sent via: {smtp_target(smtp_url)}")
    console.print(f"previews: {report.previews}")
    console.print(f"logs:     {report.demo_dir / 'logs'}")
    verdict = "[green]all delivered[/]" if report.complete else "[red]NOT all delivered[/]"
    console.print(
        f"{verdict}: {report.delivered:,} of {report.expected:,} deliveries "
        f"in {report.seconds:.1f} s"
    )
