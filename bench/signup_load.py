"""Load test for POST /subscribe: throughput and p99 latency on loopback.

Serves the app the way production does (`newsletter web`, uvicorn, N worker processes) on a
throwaway PostgreSQL database and Redis DB, with the signup rate limit switched off
(NEWSLETTER_SIGNUP_RATE_LIMIT=0) and everything else at its production default, including
the constant-time padding of the answer. `wrk` (Debian package) drives it with a unique
address per request, so every request is a real new signup (insert, event, confirmation).

    .venv/bin/python bench/signup_load.py [--workers 2] [--seconds 20] [--connections 64]

Target (issue 5): >= 500 requests/s with p99 < 100 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import redis
from _infra import ROOT, Processes, free_port, spare_redis_db, throwaway_postgres, wait_http

TARGET_RPS, TARGET_P99_MS = 500.0, 100.0

WRK_SCRIPT = r"""
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads .. "-" .. os.time())
end
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  counter = counter + 1
  local email = "load-" .. tid .. "-" .. counter .. "%40example.com"
  local body = "series=bench&name=Load+Test&email=" .. email
  return wrk.format(nil, "/subscribe", nil, body)
end
"""


def prepare(env: dict[str, str]) -> None:
    """Migrate the database and create the series people sign up for."""
    subprocess.run(
        [sys.executable, "-c", _PREPARE], env=env, cwd=ROOT, check=True, capture_output=True
    )


_PREPARE = """
import datetime as dt
from newsletter.core.db.migrate import upgrade
from newsletter.core.db.session import transaction
from newsletter.core.settings import get_settings
from newsletter.scheduling.series import create_series
from tests.support.factories import make_content
upgrade(get_settings().resolved_database_url)
with transaction() as session:
    start = dt.datetime.now() + dt.timedelta(days=7)
    create_series(session, "bench", make_content("bench", 4), "weekly", start, "UTC", "broadcast")
"""


def _percentile_ms(report: str, pct: int) -> float:
    value, unit = re.search(rf"{pct}%\s+([\d.]+)(us|ms|s)", report).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(
    base: str, seconds: int, connections: int, threads: int
) -> tuple[float, float, float, str]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            script.name,
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, _percentile_ms(out, 50), _percentile_ms(out, 99), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")

    with throwaway_postgres() as db_url, spare_redis_db() as redis_url:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        data_dir = Path(tempfile.mkdtemp(prefix="nl-bench-"))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")},
            "NEWSLETTER_DATA_DIR": str(data_dir),
            "NEWSLETTER_SECRET_KEY": "bench-secret",
            "NEWSLETTER_DATABASE_URL": db_url,
            "NEWSLETTER_BROKER_URL": redis_url,
            "NEWSLETTER_BASE_URL": base,
            "NEWSLETTER_SIGNUP_RATE_LIMIT": "0",
        }
        prepare(env)
        # Exactly the production command; confirmations go onto the `transactional` queue
        # in Redis after each commit (nobody consumes them during the run). Stopped with
        # SIGTERM (up to 10 s), then SIGKILL for the group: the supervisor and its workers.
        processes = Processes(env, data_dir, grace=10)
        try:
            with processes:
                web = processes.web(port, "--workers", str(args.workers), "--no-access-log")
                wait_http(web, f"{base}/healthz")
                run_wrk(base, 3, args.connections, args.threads)  # warm-up: pools, caches
                rps, p50, p99, report = run_wrk(base, args.seconds, args.connections, args.threads)
        finally:
            for proc in processes.procs:
                if proc.popen.returncode not in (0, -15, None):
                    print(proc.log_tail(60))
            shutil.rmtree(data_dir, ignore_errors=True)
        print(report)
        queued = redis.Redis.from_url(redis_url).llen("transactional")
        print(f"confirmations waiting on the transactional queue: {queued}")
    ok = rps >= TARGET_RPS and p99 < TARGET_P99_MS
    print(
        f"POST /subscribe: {rps:.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        f"({args.workers} workers, {args.connections} connections) — "
        f"target >= {TARGET_RPS:.0f} req/s and p99 < {TARGET_P99_MS:.0f} ms: "
        f"{'MET' if ok else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
