"""Time `subscribers import` of a 10,000-row CSV on SQLite and on PostgreSQL.

    .venv/bin/python bench/import_csv.py [--rows 10000] [--pg ADMIN_URL (default: $BENCH_PG_URL)]

Each backend gets a brand-new database (a temp SQLite file; a throwaway PostgreSQL database
that is dropped afterwards), migrated to head, with one series. The timed part is what the
CLI does: read and validate the file, then bulk-insert in one transaction (`--confirmed`,
so no confirmation mails are part of the number).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from _infra import PG_ADMIN_URL, throwaway_database
from sqlalchemy import func, select

from newsletter import content
from newsletter.core.db import session as db_session
from newsletter.core.db.migrate import upgrade
from newsletter.core.db.models import Subscriber
from newsletter.core.db.session import transaction
from newsletter.core.settings import reset_settings
from newsletter.scheduling.series import create_series
from newsletter.subscribers.importer import import_csv


def write_csv(path: Path, rows: int) -> None:
    lines = ["email,name"] + [f"reader.{i}@example.org,Reader {i}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run(url: str, csv_path: Path, rows: int) -> float:
    os.environ["NEWSLETTER_DATABASE_URL"] = url
    reset_settings()
    db_session.dispose_engines()
    upgrade(url)
    essay = content.Essay(1, "One", "one", (content.Block("paragraph", "Text."),))
    with transaction() as session:
        create_series(
            session,
            "bench",
            content.Series("bench", "Bench", (essay,)),
            "weekly",
            dt.datetime(2030, 1, 1, 9),
            "UTC",
            "broadcast",
        )
    started = time.perf_counter()
    with transaction() as session:
        report = import_csv(session, csv_path, "bench", confirmed=True)
    elapsed = time.perf_counter() - started
    with transaction() as session:
        stored = session.scalar(select(func.count()).select_from(Subscriber))
    assert report.imported == rows == stored, (report.imported, stored)
    db_session.dispose_engines()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--pg",
        default=PG_ADMIN_URL,
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["NEWSLETTER_DATA_DIR"] = tmp
        os.environ.setdefault("NEWSLETTER_SECRET_KEY", "bench")
        csv_path = Path(tmp) / "people.csv"
        write_csv(csv_path, args.rows)
        seconds = run(f"sqlite:///{Path(tmp) / 'bench.db'}", csv_path, args.rows)
        print(f"sqlite:     {args.rows} rows in {seconds:.2f} s")
        with throwaway_database(args.pg, prefix="nl_bench") as url:
            seconds = run(url, csv_path, args.rows)
        print(f"postgresql: {args.rows} rows in {seconds:.2f} s")


if __name__ == "__main__":
    main()
