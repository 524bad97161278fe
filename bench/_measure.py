"""Measurements for the delivery benchmark: worker memory, SQL counting, the raw SMTP ceiling.

The ceiling is what one process with plain `smtplib` over one connection achieves against the
same sink with the same message bytes; the pipeline's rate divided by it says how much of the
machine's sending capacity the pipeline's bookkeeping (DB claims, ledger updates, broker)
costs.
"""

from __future__ import annotations

import smtplib
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import psutil

MB = 1024 * 1024
# The Redis counter the bench worker adds its SQL statement counts to (see _bench_worker).
SQL_KEY = "bench:sql-statements"
SIGN_KEY = "bench:dkim-sign-ns"  # nanoseconds the pool processes spent in DkimSigner.sign


@dataclass
class RssSample:
    largest: int = 0  # the biggest single process in the worker tree, bytes
    total: int = 0  # the whole tree (main process + pool children), bytes


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children so far. Unlike msg/s, CPU per
    message barely moves when other work shares the cores, so it shows what signing costs
    even on a busy machine."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


class RssSampler(threading.Thread):
    """Samples the worker's process tree every `interval` s; keeps peaks and checkpoints.

    `checkpoint(name)` records the peak so far, so one run shows whether memory is flat
    (e.g. the peak at 10k messages against the peak at the end).
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak = RssSample()
        self.checkpoints: dict[str, RssSample] = {}
        self._stop_event = threading.Event()

    def sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        sizes = []
        for proc in procs:
            try:
                sizes.append(proc.memory_info().rss)
            except psutil.NoSuchProcess:
                continue
        if sizes:
            self.peak.largest = max(self.peak.largest, max(sizes))
            self.peak.total = max(self.peak.total, sum(sizes))

    def checkpoint(self, name: str) -> None:
        self.checkpoints[name] = RssSample(self.peak.largest, self.peak.total)

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


class SqlCounter:
    """Counts SQL statements sent through psycopg in this process.

    Counted at the DBAPI cursor, not with SQLAlchemy's `before_cursor_execute` event, because
    the pipeline's hot path writes the ledger on the raw DBAPI cursor, which that event never
    sees. `executemany` counts one statement per parameter set.
    """

    def __init__(self) -> None:
        self.count = 0
        self._originals: dict[str, Any] = {}

    def install(self) -> SqlCounter:
        import psycopg

        execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany
        self._originals = {"execute": execute, "executemany": executemany}

        def counted_execute(cursor: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return execute(cursor, *args, **kwargs)

        def counted_executemany(cursor: Any, query: Any, params_seq: Any, **kwargs: Any) -> Any:
            params_seq = list(params_seq)
            self.count += len(params_seq)
            return executemany(cursor, query, params_seq, **kwargs)

        psycopg.Cursor.execute = counted_execute  # type: ignore[method-assign]
        psycopg.Cursor.executemany = counted_executemany  # type: ignore[method-assign]
        return self

    def uninstall(self) -> None:
        import psycopg

        for name, original in self._originals.items():
            setattr(psycopg.Cursor, name, original)
        self._originals = {}

    def take(self) -> int:
        """The count since the last `take`, and reset it."""
        count, self.count = self.count, 0
        return count

    def __enter__(self) -> SqlCounter:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()


def raw_smtp_rate(url: str, sender: str, recipient: str, data: bytes, count: int) -> float:
    """Messages per second for `count` sends of `data` over one plain smtplib connection."""
    parts = urlsplit(url)
    with smtplib.SMTP(parts.hostname, parts.port, timeout=30) as client:
        client.ehlo()
        client.sendmail(sender, [recipient], data)  # warm-up
        start = time.perf_counter()
        for _ in range(count):
            client.sendmail(sender, [recipient], data)
        seconds = time.perf_counter() - start
    return count / seconds
