"""Celery entry point for the benchmark: the real `worker.app`, plus an SQL statement counter.

`celery -A _bench_worker worker` runs exactly the production tasks; the only addition is a
statement counter on psycopg's cursor in each pool process (see `_measure.SqlCounter`), whose
count is added to a Redis counter after every task (one INCRBY per batch, not per
statement), so the driver can report SQL statements per 1,000 messages without touching the
pipeline's code. With BENCH_DKIM_BEFORE set, the signer's per-message work is the old one
(`_dkim_before`), so one bench run can compare the two.
"""

from __future__ import annotations

import os
import time
from typing import Any

import _dkim_before
import redis
from _measure import SIGN_KEY, SQL_KEY, SqlCounter
from celery.signals import task_postrun, worker_process_init

from newsletter.mail.dkim import DkimSigner
from worker import app

__all__ = ["app"]

_counter = SqlCounter()
_redis: list[redis.Redis] = []
_signing_ns = [0]


def _timed_sign(original: Any) -> Any:
    def sign(self: DkimSigner, data: bytes) -> bytes:
        began = time.perf_counter_ns()
        try:
            return original(self, data)
        finally:
            _signing_ns[0] += time.perf_counter_ns() - began

    return sign


# dispatch_uid: Celery may import this module twice (as the -A module and again by name);
# a second receiver would wrap the cursor twice and double every count.
@worker_process_init.connect(dispatch_uid="bench-sql-counter-install")
def _install_counter(**_kwargs: Any) -> None:
    _counter.install()
    if os.environ.get("BENCH_DKIM_BEFORE"):  # the old signer, for before/after in one run
        DkimSigner.signature_headers = _dkim_before.signature_headers  # type: ignore[method-assign]
    DkimSigner.sign = _timed_sign(DkimSigner.sign)  # type: ignore[method-assign]
    _redis.append(redis.Redis.from_url(os.environ["NEWSLETTER_BROKER_URL"]))


@task_postrun.connect(dispatch_uid="bench-sql-counter-report")
def _report(**_kwargs: Any) -> None:
    count = _counter.take()
    signing, _signing_ns[0] = _signing_ns[0], 0
    if _redis and count:
        _redis[0].incrby(SQL_KEY, count)
    if _redis and signing:
        _redis[0].incrby(SIGN_KEY, signing)
