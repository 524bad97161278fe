"""`newsletter demo` as `make demo` runs it: a subprocess, real worker and beat, nothing mocked.

The only change from a fresh clone is the data dir (a temporary one) and that no
NEWSLETTER_* variable leaks in, so the embedded broker, SQLite and the Maildir outbox are used.
"""

from __future__ import annotations

import email
import os
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.processes import Processes, console_script

pytestmark = pytest.mark.integration

PARTS = 4
SUBSCRIBERS = 1000


def test_demo_delivers_every_part_to_every_subscriber(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["NEWSLETTER_DATA_DIR"] = str(data_dir)
    started = time.monotonic()
    result = subprocess.run(
        [console_script("newsletter"), "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert seconds < 60, f"the demo took {seconds:.1f} s"

    demo = data_dir / "demo"
    engine = create_engine(f"sqlite:///{demo / 'newsletter.db'}")
    with engine.connect() as conn:
        statuses = dict(
            conn.execute(text("SELECT status, count(*) FROM delivery GROUP BY status")).all()
        )
        pairs = conn.execute(
            text("SELECT count(DISTINCT issue_id || ':' || subscriber_id) FROM delivery")
        ).scalar_one()
    engine.dispose()
    assert statuses == {"sent": PARTS * SUBSCRIBERS}
    assert pairs == PARTS * SUBSCRIBERS

    messages = list((demo / "outbox" / "new").iterdir())
    assert len(messages) == PARTS * SUBSCRIBERS
    sample = email.message_from_bytes(messages[0].read_bytes())
    assert sample["To"].endswith(("example.com>", "example.org>", "example.net>"))
    assert sample.get_content_type() == "multipart/alternative"

    previews = sorted(p.suffix for p in (demo / "previews").iterdir())
    assert previews == [".html"] * PARTS + [".txt"] * PARTS
    assert "4,000 of 4,000 deliveries" in result.stdout


def test_demo_leaves_no_celery_process_behind(tmp_path: Path) -> None:
    """Ctrl-C in the middle: the worker and beat it started must be gone afterwards."""
    import psutil

    data_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["NEWSLETTER_DATA_DIR"] = str(data_dir)
    with Processes(env, tmp_path / "logs", grace=0) as processes:
        demo = processes.spawn("demo", [console_script("newsletter"), "demo", "--gap", "20"])
        proc = demo.popen
        log = data_dir / "demo" / "logs" / "worker.log"
        deadline = time.monotonic() + 60
        while not (log.exists() and " ready." in log.read_text(errors="replace")):
            assert time.monotonic() < deadline, "worker never became ready"
            assert proc.poll() is None, demo.output()
            time.sleep(0.2)
        # Under load the log can say "ready" a moment before psutil sees the tree: look again.
        children = psutil.Process(proc.pid).children(recursive=True)
        while not children and time.monotonic() < deadline:
            time.sleep(0.2)
            children = psutil.Process(proc.pid).children(recursive=True)
        assert children
        proc.send_signal(2)  # SIGINT, as Ctrl-C
        proc.wait(timeout=60)
        output = demo.output()
        assert proc.returncode != 0
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, [p.cmdline() for p in alive]
        assert output is not None
