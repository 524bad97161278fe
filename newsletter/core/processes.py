"""The demo's real Celery processes: start them, wait until they serve, always stop them.

Each runs in its own session (process group), so a Ctrl-C in the terminal reaches only the
demo, which then stops them in order: SIGTERM (Celery's warm shutdown), and SIGKILL for the
whole group if that takes too long, so no pool child is ever left behind. If the demo itself
is killed outright (SIGKILL: no chance to stop anything), Linux kills its children with it
(`PR_SET_PDEATHSIG`), so a killed demo leaves no beat ticking into an orphaned broker.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.core.errors import UserError
from newsletter.core.settings import PROJECT_ROOT

READY_MARKER = " ready."
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """`preexec_fn` (runs in the child): SIGKILL it when the thread that started it dies,
    and take SIGINT as a terminal delivers it (a parent started as `cmd &` by a script
    ignores SIGINT, and the child would inherit that and ignore Ctrl-C too)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ProcessFailed(UserError):
    """A demo process exited or did not come up; the message points at its log."""


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    started: float = field(default_factory=time.monotonic)

    def check_alive(self) -> None:
        code = self.popen.poll()
        if code is not None:
            raise ProcessFailed(f"the {self.name} exited with status {code}; see {self.log_path}")


def start(
    name: str, celery_args: list[str], env: dict[str, str], log_dir: Path, app: str = "worker"
) -> Proc:
    """`python -m celery -A worker …` from the project root (where worker.py lives).

    `app` is another entry module for the benchmark, which wraps `worker.app`.
    """
    return spawn(name, [sys.executable, "-m", "celery", "-A", app, *celery_args], env, log_dir)


def spawn(
    name: str,
    argv: list[str],
    env: dict[str, str],
    log_dir: Path,
    preexec_fn: Callable[[], None] | None = die_with_parent,
) -> Proc:
    """Any command from the project root, in its own session, logging to `<name>.log`;
    by default it dies with the thread that started it (`die_with_parent`)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            argv,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec_fn,
        )
    return Proc(name, popen, log_path)


def wait_ready(proc: Proc, timeout: float) -> float:
    """Block until the worker logs that it is ready; returns the seconds it took."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc.check_alive()
        with contextlib.suppress(OSError):
            if READY_MARKER in proc.log_path.read_text(errors="replace"):
                return time.monotonic() - proc.started
        time.sleep(0.1)
    raise ProcessFailed(f"the {proc.name} was not ready after {timeout:.0f} s; see {proc.log_path}")


def stop(proc: Proc, grace: float = 15.0) -> None:
    """Warm shutdown, then SIGKILL to the whole process group (pool children included)."""
    pgid = proc.popen.pid  # start_new_session: the group id is the leader's pid
    if proc.popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.popen.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.popen.wait(timeout=5)


class Supervisor:
    """Starts the demo's processes and stops every one of them on exit, last first.

    Used as a context manager so that a failure while starting the second process, an
    exception while delivering or a Ctrl-C all end the same way: nothing left running.
    """

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: list[Proc] = []

    def start(self, name: str, celery_args: list[str], app: str = "worker") -> Proc:
        proc = start(name, celery_args, self.env, self.log_dir, app)
        self.procs.append(proc)
        return proc

    def check_alive(self) -> None:
        for proc in self.procs:
            proc.check_alive()

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs):
            stop(proc)
