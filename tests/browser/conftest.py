"""A real deployment on loopback for the browser tests.

`newsletter web` (uvicorn) and `celery -A worker worker` run as subprocesses against this
run's SQLite file and Redis DB, mail goes to an aiosmtpd sink, and Playwright drives
Debian's Chromium (never a downloaded browser). Screenshots land in artifacts/screenshots/.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from newsletter.core import celery_app
from newsletter.core.settings import get_settings, reset_settings
from tests.processes import die_with_parent
from tests.support.smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A subprocess in its own process group, its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._out.close()


@dataclass
class Deployment:
    base_url: str
    sink: SmtpSink
    web: Process
    worker: Process


def _wait_for_web(base_url: str, web: Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.proc.poll() is not None:
            raise RuntimeError(f"web exited early:\n{web.output()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"web not ready:\n{web.output()}")


def _wait_for_worker(name: str, worker: Process, timeout: float = 30) -> None:
    """Ping through a fresh Celery app: the shared one may hold a control channel from an
    earlier test that used another broker."""
    from celery import Celery

    probe = Celery("browser-probe")
    probe.conf.update(celery_app.build_config(get_settings()))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if worker.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{worker.output()}")
            if probe.control.ping(destination=[name], timeout=0.3):
                return
    finally:
        probe.close()
    raise TimeoutError(f"worker not ready:\n{worker.output()}")


@pytest.fixture
def deployment(
    sqlite_db: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deployment]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with SmtpSink() as sink:
        for key, value in {
            "BROKER_URL": redis_url,
            "SMTP_URL": sink.url,
            "BASE_URL": base_url,
            "SIGNUP_MIN_SECONDS": "0",
        }.items():
            monkeypatch.setenv(f"NEWSLETTER_{key}", value)
        reset_settings()
        celery_app.reconfigure()
        env = dict(os.environ)
        web = Process(
            [str(VENV_BIN / "newsletter"), "web", "--host", "127.0.0.1", "--port", str(port)],
            env,
            tmp_path / "web.log",
        )
        name = f"nl-browser-{uuid.uuid4().hex[:8]}@localhost"
        worker = Process(
            [
                str(VENV_BIN / "celery"),
                "-A",
                "worker",
                "worker",
                "-Q",
                "transactional,bulk",
                "-c",
                "1",
                "-l",
                "warning",
                "-n",
                name,
                "--without-gossip",
                "--without-mingle",
            ],
            env,
            tmp_path / "worker.log",
        )
        try:
            _wait_for_web(base_url, web)
            _wait_for_worker(name, worker)
            yield Deployment(base_url, sink, web, worker)
        finally:
            web.stop()
            worker.stop()
            celery_app.app.close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
