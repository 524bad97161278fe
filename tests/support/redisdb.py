"""A Redis DB number of its own for one test run or benchmark, so parallel runs never collide.

DB numbers 1-15 are claimed with a lock key in DB 0 (`newsletter-test-lock:<n>`, one hour,
released at the end). A DB that has clients connected is in use whether claimed or not:
e.g. a worker left behind by a killed run would otherwise consume this run's tasks.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import redis

REDIS_BASE = os.environ.get("NEWSLETTER_TEST_REDIS_URL", "redis://127.0.0.1:6379")
LOCK_KEY = "newsletter-test-lock:{}"
LOCK_SECONDS = 3600


class NoFreeRedisDb(RuntimeError):
    pass


def flush(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@contextlib.contextmanager
def claim_redis_db(base: str = REDIS_BASE) -> Iterator[str]:
    """Yields the URL of a free DB number on the server at `base`, flushed before and after."""
    admin = redis.Redis.from_url(f"{base}/0")
    try:
        token = uuid.uuid4().hex
        busy = {str(client.get("db")) for client in admin.client_list()}
        for number in range(1, 16):
            if str(number) in busy:
                continue
            if admin.set(LOCK_KEY.format(number), token, nx=True, ex=LOCK_SECONDS):
                break
        else:
            raise NoFreeRedisDb("no free Redis DB number (1-15 claimed or in use)")
        url = f"{base}/{number}"
        flush(url)
        try:
            yield url
        finally:
            flush(url)
            if admin.get(LOCK_KEY.format(number)) == token.encode():
                admin.delete(LOCK_KEY.format(number))
    finally:
        admin.close()
