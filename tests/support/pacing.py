"""A child process for the shared-budget test, importable by name so it can be *spawned*.

A forked child would inherit whatever Celery and kombu left behind in the test process
(threads, open Redis reads) and can hang; a spawned one starts clean.
"""

from __future__ import annotations

import time
from multiprocessing.queues import Queue

from newsletter.mail.pacing import RateLimiter


def acquire_and_report(
    redis_url: str, rate: float, count: int, start_at: float, out: Queue[float]
) -> None:
    """Take `count` slots of one shared budget from `start_at`, reporting each time."""
    limiter = RateLimiter(redis_url, rate, key="test:ratelimit:shared")
    while time.time() < start_at:
        time.sleep(0.001)
    for _ in range(count):
        limiter.acquire()
        out.put(time.time())
    limiter.close()
