"""One messages-per-second budget shared by every worker process.

Celery's `rate_limit` is per worker, so N workers would send N times the limit a provider
allows. Instead each send first reserves its slot in Redis with GCRA (the generic cell
rate algorithm): one key holds the "theoretical arrival time" (TAT) of the next free slot,
and an atomic Lua script moves it forward by n/rate and says how long the caller must wait
for its slot. The script reads Redis `TIME`, so workers on different machines need no
synchronised clocks, and a reservation costs one round trip, never a retry loop.

A slot reserved by a worker that then dies is simply lost: the limit errs on the side of
sending slower, never faster.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING

from newsletter.core.settings import Settings, get_settings

if TYPE_CHECKING:
    import redis

__all__ = ["RateLimiter", "from_settings"]

# KEYS[1] TAT key. ARGV: interval (µs per message), tolerance (µs of allowed burst), n.
# Returns the µs the caller must wait before its n messages may go out.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now - tolerance
if wait < 0 then wait = 0 end
local new_tat = tat + interval * n
redis.call('SET', KEYS[1], string.format('%d', new_tat),
           'PX', math.ceil((new_tat - now) / 1000) + 1000)
return math.floor(wait)
"""


class RateLimiter:
    """`acquire(n)` blocks until n more messages fit in the budget.

    `rate_per_second` 0 (or less) means unlimited and never touches Redis. Without a
    `redis_url` the bucket is local to this process (fine for the single-process demo).
    `burst` is how many messages may go out back to back after an idle spell.
    """

    def __init__(
        self,
        redis_url: str | None,
        rate_per_second: float,
        key: str = "newsletter:ratelimit",
        *,
        burst: float = 1.0,
    ) -> None:
        self.redis_url = redis_url
        self.rate = float(rate_per_second)
        self.key = key
        self.burst = max(1.0, float(burst))
        self._client: redis.Redis | None = None
        self._script: redis.commands.core.Script | None = None
        self._lock = threading.Lock()
        self._local_tat = 0.0

    @property
    def unlimited(self) -> bool:
        return self.rate <= 0 or math.isinf(self.rate)

    def acquire(self, n: int = 1) -> None:
        """Wait for this caller's slot; returns once `n` messages may be sent."""
        if self.unlimited or n <= 0:
            return
        wait = self._reserve_redis(n) if self.redis_url else self._reserve_local(n)
        if wait > 0:
            time.sleep(wait)

    def _reserve_redis(self, n: int) -> float:
        if self._script is None:
            import redis

            self._client = redis.Redis.from_url(self.redis_url)  # type: ignore[arg-type]
            self._script = self._client.register_script(_GCRA)
        interval_us = 1_000_000 / self.rate
        tolerance_us = (self.burst - 1) * interval_us
        wait_us = self._script(keys=[self.key], args=[interval_us, tolerance_us, n])
        return int(wait_us) / 1_000_000

    def _reserve_local(self, n: int) -> float:
        interval = 1 / self.rate
        with self._lock:
            now = time.monotonic()
            tat = max(self._local_tat, now)
            self._local_tat = tat + interval * n
            return max(0.0, tat - now - (self.burst - 1) * interval)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client, self._script = None, None


def from_settings(settings: Settings | None = None) -> RateLimiter:
    """The limiter for NEWSLETTER_RATE_LIMIT, shared through Redis when Redis is set up."""
    s = settings or get_settings()
    return RateLimiter(s.resolved_redis_url, s.rate_limit)


_LIMITERS: dict[tuple[float, str | None], RateLimiter] = {}


def acquire_slot(settings: Settings) -> None:
    """Wait for this process's turn under NEWSLETTER_RATE_LIMIT (no-op when unlimited).

    One limiter (one Redis client) per process and setting, kept across batches.
    """
    if settings.rate_limit <= 0:
        return
    key = (settings.rate_limit, settings.resolved_redis_url)
    limiter = _LIMITERS.get(key)
    if limiter is None:
        limiter = _LIMITERS[key] = from_settings(settings)
    limiter.acquire()


def forget_limiters() -> None:
    """Drop clients inherited across a fork (the delivery tasks call it per worker process)."""
    _LIMITERS.clear()
