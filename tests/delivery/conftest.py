"""Fixtures for delivery tests: real Celery worker processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newsletter.core import celery_app
from newsletter.core.settings import reset_settings
from tests.support.processes import Process, Processes, wait_worker
from tests.support.smtp_sink import SmtpSink


@pytest.fixture
def start_worker(
    db: str,
    redis_url: str,
    sink: SmtpSink,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Process]]:
    """Start real worker processes on this run's Redis DB; always stopped at the end.

    The test process publishes to the same broker (the Celery app is reconfigured), and
    the worker inherits every NEWSLETTER_* setting of the test plus `overrides`.
    """
    monkeypatch.setenv("NEWSLETTER_BROKER_URL", redis_url)
    reset_settings()
    celery_app.reconfigure()
    # grace=0: the test is over when they are stopped; a warm shutdown would only cost seconds.
    with Processes(dict(os.environ), tmp_path / "logs", grace=0) as processes:

        def start(wait: bool = True, **overrides: str) -> Process:
            env = {
                **os.environ,
                **{f"NEWSLETTER_{k.upper()}": str(v) for k, v in overrides.items()},
            }
            worker = processes.worker(2, env=env)
            if wait:
                wait_worker(worker)
            return worker

        yield start
    celery_app.app.close()
