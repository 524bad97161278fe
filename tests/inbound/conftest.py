"""Fixtures for inbound tests: the delivery tests' real worker, and `newsletter inbound`."""

from __future__ import annotations

import os
import smtplib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newsletter.core.settings import reset_settings
from tests.delivery.conftest import start_worker  # noqa: F401  (a sent issue needs a worker)
from tests.support.processes import Process, Processes, console_script, free_port

DOMAIN = "bounces.example.com"


@pytest.fixture
def bounce_domain(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("NEWSLETTER_BOUNCE_DOMAIN", DOMAIN)
    reset_settings()
    return DOMAIN


def _wait_smtp(proc: Process, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc.check_alive()
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as client:
                client.noop()
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"newsletter inbound did not answer on {port}:\n{proc.output()}")


@pytest.fixture
def inbound_server(db: str, bounce_domain: str, tmp_path: Path) -> Iterator[Callable[[], int]]:
    """`newsletter inbound --port <free>` as a subprocess with this test's settings; the
    fixture value starts it and returns the port."""
    with Processes(dict(os.environ), tmp_path / "inbound-logs", grace=5) as processes:

        def start() -> int:
            port = free_port()
            argv = [console_script("newsletter"), "inbound", "--port", str(port)]
            _wait_smtp(processes.spawn("inbound", argv), port)
            return port

        yield start
