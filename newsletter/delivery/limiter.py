"""The process-wide handle on the shared send rate limit (one Redis client per process)."""

from __future__ import annotations

from newsletter.mail.ratelimit import RateLimiter, from_settings
from newsletter.settings import Settings

_LIMITERS: dict[tuple[float, str | None], RateLimiter] = {}


def acquire_slot(settings: Settings) -> None:
    """Wait for this process's turn under NEWSLETTER_RATE_LIMIT (no-op when unlimited)."""
    if settings.rate_limit <= 0:
        return
    key = (settings.rate_limit, settings.resolved_redis_url)
    limiter = _LIMITERS.get(key)
    if limiter is None:
        limiter = _LIMITERS[key] = from_settings(settings)
    limiter.acquire()


def forget_limiters() -> None:
    """Drop clients inherited across a fork (called from worker_process_init)."""
    _LIMITERS.clear()
