"""Our processes as tests and benchmarks start them: Celery workers, the web server, the demo.

Built on the demo's supervisor, `newsletter.core.processes`: the same `Proc` record, log file
per process, own session (process group), readiness by the worker's " ready." log line and
`stop()` (SIGTERM, then SIGKILL to the whole group). What it adds for tests:

- any command, not only `python -m celery -A <app>` (`core.processes.start` builds that
  command itself), e.g. `newsletter web`;
- processes die with the process that started them (PR_SET_PDEATHSIG): a run that is itself
  killed (a timeout, Ctrl-C twice) skips its finalizers, and a worker left behind would keep
  polling its Redis DB and steal the tasks of a later run that claims the same DB number;
- `kill()`: SIGKILL to the group right away, for a test that kills a worker mid-batch and
  for teardown, where a warm shutdown would only cost seconds (`stop()` always sends SIGTERM
  first and waits);
- readiness of a web server (`wait_http`), and the log's tail in every failure message.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from newsletter.core import processes as core
from newsletter.core.processes import ProcessFailed

__all__ = [
    "Process",
    "ProcessFailed",
    "Processes",
    "console_script",
    "free_port",
    "wait_http",
    "wait_worker",
    "worker_args",
]

QUEUES = "transactional,bulk"
READY_TIMEOUT = 30.0


die_with_parent = core.die_with_parent  # SIGKILL with the starting thread; SIGINT as usual


def console_script(name: str) -> str:
    """A console script (`newsletter`, `celery`) of the Python environment running us."""
    return str(Path(sys.executable).with_name(name))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_args(name: str, concurrency: int = 2, *extra: str) -> list[str]:
    """`celery -A … ` arguments for a worker on both queues, named `name`, logging at INFO
    (the level of the " ready." line that `wait_worker` waits for)."""
    return [
        "worker",
        *("-Q", QUEUES, "-c", str(concurrency), "--pool", "prefork", "-l", "INFO"),
        *("-n", name, "--without-gossip", "--without-mingle", *extra),
    ]


@dataclass
class Process(core.Proc):
    """A `core.processes.Proc` that can also be killed outright and show its log."""

    def kill(self) -> None:
        """SIGKILL the whole process group now: the main process and every pool child."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)

    def output(self, lines: int = 60) -> str:
        return log_tail(self, lines)

    def log_tail(self, lines: int = 60) -> str:
        return log_tail(self, lines)


def log_tail(proc: core.Proc, lines: int = 60) -> str:
    """The last `lines` of a process's log, for failure messages (empty if unreadable)."""
    try:
        return "\n".join(proc.log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def spawn(name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> Process:
    """`core.processes.spawn`, dying with the thread that called this."""
    proc = core.spawn(name, argv, env, log_dir, preexec_fn=die_with_parent)
    return Process(proc.name, proc.popen, proc.log_path)


def _failed(proc: core.Proc, exc: Exception) -> ProcessFailed:
    return ProcessFailed(f"{exc}\n--- last lines of {proc.log_path.name} ---\n{log_tail(proc)}")


def wait_worker(proc: core.Proc, timeout: float = READY_TIMEOUT) -> float:
    """`core.processes.wait_ready` (the worker logged " ready."); seconds it took."""
    try:
        return core.wait_ready(proc, timeout)
    except ProcessFailed as exc:
        raise _failed(proc, exc) from None


def wait_http(proc: core.Proc, url: str, timeout: float = READY_TIMEOUT) -> None:
    """Poll `url` until it answers 200 while `proc` stays alive."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            proc.check_alive()
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise ProcessFailed(f"the {proc.name} did not answer 200 at {url} in {timeout:.0f} s")
    except ProcessFailed as exc:
        raise _failed(proc, exc) from None


class Processes(core.Supervisor):
    """The demo's `Supervisor` (every process stopped on exit, last first) for tests and
    benchmarks: processes die with us, and `grace=0` kills them on exit instead of a warm
    shutdown (SIGTERM, up to `grace` seconds, then SIGKILL)."""

    def __init__(self, env: dict[str, str], log_dir: Path, *, grace: float = 15.0) -> None:
        super().__init__(env, log_dir)
        self.grace = grace

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        proc = spawn(name, argv, self.env if env is None else env, self.log_dir)
        self.procs.append(proc)
        return proc

    def start(self, name: str, celery_args: list[str], app: str = "worker") -> Process:
        """`python -m celery -A app …`, as `Supervisor.start` runs it."""
        return self.spawn(name, [sys.executable, "-m", "celery", "-A", app, *celery_args])

    def worker(
        self,
        concurrency: int = 2,
        *extra: str,
        env: dict[str, str] | None = None,
        app: str = "worker",
        node: str | None = None,
    ) -> Process:
        """A worker on both queues (a unique node name unless `node`); not yet ready: see
        `wait_worker`."""
        number = sum(proc.name.startswith("worker") for proc in self.procs)
        node = node or f"nl-test-{uuid.uuid4().hex[:8]}@localhost"
        argv = [sys.executable, "-m", "celery", "-A", app]
        return self.spawn(f"worker-{number}", argv + worker_args(node, concurrency, *extra), env)

    def web(self, port: int, *extra: str) -> Process:
        """`newsletter web` on 127.0.0.1:`port`; not yet ready (`wait_http` on /healthz)."""
        argv = [console_script("newsletter"), "web", "--host", "127.0.0.1", "--port", str(port)]
        return self.spawn("web", [*argv, *extra])

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs):
            if self.grace <= 0 and isinstance(proc, Process):
                proc.kill()
            else:
                core.stop(proc, self.grace)
