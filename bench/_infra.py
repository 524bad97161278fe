"""Throwaway infrastructure for the delivery benchmark: a PostgreSQL database, a Redis DB
number, and an SMTP sink in its own process.

Everything is created for one run and removed at the end, so the benchmark never touches
data it did not make. The sink runs in a separate process because aiosmtpd in a thread of
the driver would share a GIL with the tick and the pollers and slow both down.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get(
    "BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_BASE = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A fresh database on the local server, dropped (connections forced off) afterwards."""
    name = f"nl_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def spare_redis_db() -> Iterator[str]:
    """A Redis DB number nobody else claimed (same lock scheme as the test suite), flushed."""
    admin = redis.Redis.from_url(f"{REDIS_BASE}/0")
    token = uuid.uuid4().hex
    # Count down from 15 so a concurrent test run (which counts up from 1) rarely meets us.
    for number in range(15, 0, -1):
        if admin.set(f"newsletter-test-lock:{number}", token, nx=True, ex=3600):
            break
    else:
        raise SystemExit("no free Redis DB number (1-15 all claimed)")
    url = f"{REDIS_BASE}/{number}"
    redis.Redis.from_url(url).flushdb()
    try:
        yield url
    finally:
        redis.Redis.from_url(url).flushdb()
        if admin.get(f"newsletter-test-lock:{number}") == token.encode():
            admin.delete(f"newsletter-test-lock:{number}")
        admin.close()


def _serve_sink(port: Any, received: Any, stop: Any) -> None:
    """Child process: a count-only aiosmtpd sink; mirrors its counter into shared memory."""
    sys.path.insert(0, str(ROOT))
    from tests.support.smtp_sink import SmtpSink

    with SmtpSink(count_only=True) as sink:
        port.value = sink.port
        while not stop.is_set():
            received.value = sink.received
            time.sleep(0.02)
        received.value = sink.received


class SinkProcess:
    """`with SinkProcess() as sink: sink.url, sink.received` — the sink in another process."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self._port = ctx.Value("i", 0)
        self._received = ctx.Value("q", 0)
        self._stop = ctx.Event()
        self._proc = ctx.Process(
            target=_serve_sink, args=(self._port, self._received, self._stop), daemon=True
        )

    @property
    def pid(self) -> int:
        assert self._proc.pid is not None
        return self._proc.pid

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self._port.value}"

    @property
    def received(self) -> int:
        return int(self._received.value)

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.received < count:
            if time.monotonic() > deadline or not self._proc.is_alive():
                return False
            time.sleep(0.01)
        return True

    def __enter__(self) -> SinkProcess:
        self._proc.start()
        deadline = time.monotonic() + 30
        while self._port.value == 0:
            if time.monotonic() > deadline or not self._proc.is_alive():
                raise RuntimeError("the SMTP sink process did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout=5)
