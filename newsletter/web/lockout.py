"""The per-account login throttle, beside the per-client one in `newsletter.web.throttle`.

The per-client limit stops one address guessing fast; it does nothing against a botnet
trying one password each for the same account. So failed sign-ins are also counted per
account: after `login_account_limit` failures within `login_account_window` seconds of
the first, that account's sign-in is refused (429) whatever the client and whatever the
password (which is not even checked), until the window runs out. A successful sign-in
clears the count.

Unknown accounts are counted and refused in exactly the same way, with the same answer,
so the throttle tells nobody which accounts exist. Keys are hashed before they reach
Redis (which never holds an address); without Redis, or with Redis down, each process
counts for itself, as the per-client limiter does.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time

import redis

from newsletter.core.settings import get_settings
from newsletter.web.throttle import redis_client

log = logging.getLogger(__name__)


class AccountLocked(Exception):
    """Too many failed sign-ins for one account; answered 429 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


_local: dict[str, tuple[int, float]] = {}  # key → (failures, window ends at)
_local_lock = threading.Lock()


def _key(account: str) -> str:
    digest = hashlib.sha256(account.encode()).hexdigest()[:24]
    return f"newsletter:lockout:{digest}"


def attempt(account: str) -> bool:
    """Count one sign-in attempt for `account` before its password is checked.

    Raises `AccountLocked` once the window holds more than the limit; returns True when
    this attempt is the last one allowed (a failure now locks the account). Counting before
    the check, in one atomic step, means parallel guesses cannot slip past the limit; a
    right password clears the count (`succeeded`), so only failures add up.
    """
    settings = get_settings()
    limit = settings.login_account_limit
    if limit <= 0:
        return False
    count, retry_after = _add(_key(account), settings.login_account_window)
    if count > limit:
        raise AccountLocked(max(1, retry_after))
    return count == limit


def succeeded(account: str) -> None:
    """A right password: the account's count starts again."""
    key = _key(account)
    client = redis_client()
    if client is not None:
        try:
            client.delete(key)
        except redis.RedisError as exc:
            log.warning("login lockout falling back to in-process counts: %s", type(exc).__name__)
    with _local_lock:
        _local.pop(key, None)


def _add(key: str, window: int) -> tuple[int, int]:
    """Count one; (the count, seconds until the window ends)."""
    client = redis_client()
    if client is not None:
        try:
            with client.pipeline() as pipe:
                pipe.set(key, 0, ex=window, nx=True)  # the window runs from the first attempt
                pipe.incr(key)
                pipe.ttl(key)
                _, count, ttl = pipe.execute()
            return int(count), int(ttl)
        except redis.RedisError as exc:
            log.warning("login lockout falling back to in-process counts: %s", type(exc).__name__)
    now = time.time()
    with _local_lock:
        if len(_local) > 10_000:
            for stale in [k for k, (_, ends) in _local.items() if ends <= now]:
                del _local[stale]
        count, ends = _local.get(key, (0, now + window))
        if ends <= now:
            count, ends = 0, now + window
        _local[key] = (count + 1, ends)
        return count + 1, int(ends - now) + 1


def reset_local() -> None:
    """Forget in-process counts (tests)."""
    with _local_lock:
        _local.clear()
