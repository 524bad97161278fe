"""The shared send budget: unlimited is free, local and Redis buckets pace to the rate."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from newsletter.core.settings import reset_settings
from newsletter.mail.pacing import RateLimiter, from_settings
from tests.support.pacing import acquire_and_report


def test_zero_rate_is_unlimited_and_never_touches_redis() -> None:
    limiter = RateLimiter("redis://127.0.0.1:1/0", 0)  # nothing listens there
    start = time.monotonic()
    for _ in range(1000):
        limiter.acquire()
    assert time.monotonic() - start < 0.1


def test_local_bucket_paces_to_the_rate() -> None:
    limiter = RateLimiter(None, 100)
    start = time.monotonic()
    for _ in range(31):
        limiter.acquire()
    assert 0.28 <= time.monotonic() - start <= 0.5


def test_acquire_n_reserves_n_slots(redis_url: str) -> None:
    limiter = RateLimiter(redis_url, 100, key="test:ratelimit:n")
    start = time.monotonic()
    limiter.acquire(20)  # first reservation is free ...
    assert time.monotonic() - start < 0.05
    limiter.acquire()  # ... and pushes the next slot 20 intervals out
    assert 0.17 <= time.monotonic() - start <= 0.35
    limiter.close()


def test_two_processes_share_one_budget(redis_url: str) -> None:
    rate, per_process = 100.0, 60
    ctx = multiprocessing.get_context("spawn")  # a clean child (see tests/support/pacing.py)
    out = ctx.Queue()
    start_at = time.time() + 3.0  # both spawned processes are up by then
    procs = [
        ctx.Process(target=acquire_and_report, args=(redis_url, rate, per_process, start_at, out))
        for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    stamps = sorted(out.get(timeout=30) for _ in range(2 * per_process))
    for proc in procs:
        proc.join(timeout=10)
        assert proc.exitcode == 0
    elapsed = stamps[-1] - stamps[0]
    # 120 slots at 100/s: 119 intervals. Each process alone would have finished in 0.6 s.
    assert 1.1 <= elapsed <= 1.5, elapsed
    observed = (len(stamps) - 1) / elapsed
    assert rate * 0.8 <= observed <= rate * 1.1
    # Never a burst: any 0.5 s window holds at most ~50 messages.
    for i, stamp in enumerate(stamps):
        window = sum(1 for s in stamps[i:] if s - stamp < 0.5)
        assert window <= 50 + 3


def test_from_settings(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSLETTER_RATE_LIMIT", "25")
    reset_settings()
    limiter = from_settings()
    assert limiter.redis_url == redis_url
    assert limiter.rate == 25
    monkeypatch.delenv("NEWSLETTER_REDIS_URL")
    reset_settings()
    assert from_settings().redis_url is None
