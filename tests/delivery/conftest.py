"""Fixtures for delivery tests: an SMTP sink on loopback and real Celery worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newsletter.core import celery_app
from newsletter.core.settings import reset_settings
from tests.processes import die_with_parent
from tests.support.smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parents[2]
CELERY = ROOT / ".venv" / "bin" / "celery"
READY_TIMEOUT = 30.0


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    """An aiosmtpd sink on 127.0.0.1; NEWSLETTER_SMTP_URL points at it."""
    with SmtpSink() as server:
        monkeypatch.setenv("NEWSLETTER_SMTP_URL", server.url)
        reset_settings()
        yield server


class Worker:
    """A `celery -A worker worker` subprocess in its own process group."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.name = f"nl-test-{uuid.uuid4().hex[:8]}@localhost"
        self.log = log
        self._log_file = log.open("ab")
        self.proc = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                "worker",
                "worker",
                "-Q",
                "transactional,bulk",
                "-c",
                "2",
                "--pool",
                "prefork",
                "-l",
                "warning",
                "-n",
                self.name,
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so a kill takes the pool children with it
            preexec_fn=die_with_parent,
        )

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> Worker:
        """Poll with a broadcast ping until the worker answers (it then consumes)."""
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.output()}")
            if celery_app.app.control.ping(destination=[self.name], timeout=0.3):
                self.ready_after = time.monotonic() - started
                return self
        raise TimeoutError(f"worker not ready in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and every pool child."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._log_file.close()


@pytest.fixture
def start_worker(
    db: str,
    redis_url: str,
    sink: SmtpSink,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Worker]]:
    """Start real worker processes on this run's Redis DB; always stopped at the end.

    The test process publishes to the same broker (the Celery app is reconfigured), and
    the worker inherits every NEWSLETTER_* setting of the test plus `overrides`.
    """
    monkeypatch.setenv("NEWSLETTER_BROKER_URL", redis_url)
    reset_settings()
    celery_app.reconfigure()
    workers: list[Worker] = []

    def start(wait: bool = True, **overrides: str) -> Worker:
        env = {**os.environ, **{f"NEWSLETTER_{k.upper()}": str(v) for k, v in overrides.items()}}
        worker = Worker(env, tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker.wait_ready() if wait else worker

    yield start
    for worker in workers:
        worker.kill()  # the test is over; a warm shutdown would only cost seconds
    celery_app.app.close()
