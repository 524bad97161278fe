"""The process supervisor (`newsletter.core.processes`) when a process does not come up.

A clean start and a Ctrl-C are covered end to end by tests/demo; tests/support/processes
builds the test suite's own processes on the same module.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newsletter.core import processes


def test_a_process_that_exits_early_is_reported_with_its_log(tmp_path: Path) -> None:
    with processes.Supervisor(dict(os.environ), tmp_path / "logs") as supervisor:
        proc = supervisor.start("worker", ["worker", "--no-such-option"])
        with pytest.raises(
            processes.ProcessFailed, match=r"exited with status 2; see .*worker\.log"
        ):
            processes.wait_ready(proc, timeout=60)
        with pytest.raises(processes.ProcessFailed):
            supervisor.check_alive()
        assert "No such option" in proc.log_path.read_text(errors="replace")
    assert proc.popen.returncode == 2
