"""Throwaway infrastructure for the benchmarks: a PostgreSQL database, a Redis DB number, an
SMTP sink in its own process, and our processes (the test suite's helpers in tests/support,
imported from the repository root, which this module puts on sys.path).

Everything is created for one run and removed at the end, so the benchmark never touches
data it did not make. The sink runs in a separate process because aiosmtpd in a thread of
the driver would share a GIL with the tick and the pollers and slow both down.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the test suite's helpers: tests.support

from tests.support.databases import throwaway_database  # noqa: E402
from tests.support.processes import Processes, free_port, wait_http, wait_worker  # noqa: E402
from tests.support.redisdb import claim_redis_db  # noqa: E402

__all__ = [
    "PG_ADMIN_URL",
    "ROOT",
    "PostfixSink",
    "Processes",
    "SinkProcess",
    "free_port",
    "wait_http",
    "wait_worker",
    "spare_redis_db",
    "throwaway_database",
    "throwaway_postgres",
]

PG_ADMIN_URL = os.environ.get(
    "BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_BASE = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")


def throwaway_postgres() -> AbstractContextManager[str]:
    """A fresh database on the local server, dropped (connections forced off) afterwards."""
    return throwaway_database(PG_ADMIN_URL, prefix="nl_bench")


def spare_redis_db() -> AbstractContextManager[str]:
    """A Redis DB number nobody else uses (the test suite's claim), flushed before and after."""
    return claim_redis_db(REDIS_BASE)


def _serve_sink(port: Any, received: Any, stop: Any) -> None:
    """Child process: a count-only aiosmtpd sink; mirrors its counter into shared memory."""
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


class PostfixSink:
    """`with PostfixSink() as sink: sink.url` — Postfix's C `smtp-sink`, which accepts and
    discards every message (Debian `postfix`, installed by scripts/ensure-smtp-sink.sh).

    The aiosmtpd sink parses each message in Python and is slower than our pipeline, so a
    throughput figure against it measures the sink. This one keeps no count: the ledger's
    `sent` rows, each a 250 from the sink, say how far a run is.
    """

    received = None  # not counted here; see the class docstring

    def __init__(self) -> None:
        if not (shutil.which("smtp-sink") or Path("/usr/sbin/smtp-sink").exists()):
            subprocess.run([str(ROOT / "scripts" / "ensure-smtp-sink.sh")], check=True)
        self.binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> PostfixSink:
        # -u nobody: it drops privileges when run as root; 256: the connection backlog.
        args = [self.binary, "-u", "nobody", f"127.0.0.1:{self.port}", "256"]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline or self._proc.poll() is not None:
                    raise RuntimeError("smtp-sink did not start") from None
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
