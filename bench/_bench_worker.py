"""Celery entry point for the benchmark: the real `worker.app`, plus an SQL statement counter.

`celery -A _bench_worker worker` runs exactly the production tasks; the only addition is a
`before_cursor_execute` listener on every Engine in each pool process, whose count is added
to a Redis counter after every task (one INCRBY per batch, not per statement), so the driver
can report SQL statements per 1,000 messages without touching the pipeline's code.
"""

from __future__ import annotations

import os
from typing import Any

import redis
from _measure import SQL_KEY
from celery.signals import task_postrun, worker_process_init
from sqlalchemy import event
from sqlalchemy.engine import Engine

from worker import app

__all__ = ["app"]

_state: dict[str, Any] = {"count": 0, "redis": None}


def _count(*_args: Any, **_kwargs: Any) -> None:
    _state["count"] += 1


@worker_process_init.connect
def _install_counter(**_kwargs: Any) -> None:
    event.listen(Engine, "before_cursor_execute", _count)
    _state["redis"] = redis.Redis.from_url(os.environ["NEWSLETTER_BROKER_URL"])


@task_postrun.connect
def _report(**_kwargs: Any) -> None:
    client = _state["redis"]
    if client is not None and _state["count"]:
        client.incrby(SQL_KEY, _state["count"])
        _state["count"] = 0
