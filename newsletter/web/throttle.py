"""Fixed-window rate limits per client, shared through Redis across web workers.

Without Redis (the zero-setup default) each process counts for itself, which is the best a
single process can do. If Redis is configured but unreachable we fall back to the local
count as well: a rate limiter must never take the signup form down with it. Client
addresses are hashed before they become keys, so Redis never holds an IP address.

The client is `request.client.host`: the TCP peer, or, when that peer is a proxy named in
NEWSLETTER_FORWARDED_ALLOW_IPS, the address it vouches for in X-Forwarded-For (uvicorn's
ProxyHeadersMiddleware rewrites the scope in `create_app`). Nobody else's X-Forwarded-For
counts, so rotating that header does not buy a client more attempts.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time

import redis

from newsletter.core.settings import get_settings

log = logging.getLogger(__name__)


class RateLimited(Exception):
    """Too many attempts from one client; answered with a 429 page."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


_local: dict[str, int] = {}
_local_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}


def redis_client() -> redis.Redis | None:
    """The shared Redis client for attempt counters (None without Redis); short timeouts,
    because a slow Redis must not hold a sign-in or a signup."""
    url = get_settings().resolved_redis_url
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
    return client


def hit(name: str, client_id: str, limit: int, window: int) -> None:
    """Count one attempt; raise `RateLimited` once `limit` is exceeded in this window.

    `limit <= 0` disables the check (used by the load benchmark).
    """
    if limit <= 0:
        return
    now = time.time()
    slot = int(now // window)
    digest = hashlib.sha256(client_id.encode()).hexdigest()[:20]
    key = f"newsletter:throttle:{name}:{digest}:{slot}"
    count = _count(key, window)
    if count > limit:
        raise RateLimited(retry_after=max(1, int((slot + 1) * window - now)))


def _count(key: str, window: int) -> int:
    client = redis_client()
    if client is not None:
        try:
            with client.pipeline() as pipe:
                pipe.incr(key)
                pipe.expire(key, window + 1)
                count, _ = pipe.execute()
            return int(count)
        except redis.RedisError as exc:
            log.warning("rate limit falling back to in-process counts: %s", type(exc).__name__)
    with _local_lock:
        if len(_local) > 10_000:  # old windows; keys carry their slot so stale ones are junk
            _local.clear()
        _local[key] = _local.get(key, 0) + 1
        return _local[key]


def reset_local() -> None:
    """Forget in-process counts (tests)."""
    with _local_lock:
        _local.clear()
