"""`main()`: a user error is one line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys


def test_user_errors_are_one_line_on_stderr_with_exit_2(tmp_path) -> None:
    env = {"NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "PATH": "/usr/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "newsletter", "series", "list"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "newsletter db upgrade" in proc.stderr
