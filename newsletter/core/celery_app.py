"""The Celery app: safe defaults for bulk work, two queues, and the beat schedule.

Celery here only carries hints ("send these delivery ids"); the database holds the schedule
and the outcome of every delivery. Hence: late acks and reject-on-worker-lost (a killed
worker's message comes back, and the send claim makes the repeat a no-op), prefetch of one
(a long batch never hides others behind it), JSON only, no result backend, and no ETA or
countdown anywhere (retries are a `next_attempt_at` in the database that the tick picks up).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import beat_init, celeryd_init, worker_process_init
from kombu import Exchange, Queue
from kombu.transport import TRANSPORT_ALIASES

from newsletter.core.db.session import dispose_engines
from newsletter.core.settings import Settings, SettingsError, get_settings

log = logging.getLogger(__name__)

TRANSACTIONAL = "transactional"
BULK = "bulk"
# The worker task that sends rows of the `mail` outbox (it lives in `delivery.tasks`). Named
# here so that a lower feature (subscribers) can wake it without importing delivery.
MAIL_TASK = "newsletter.delivery.tasks.send_mail"

# `filesystem://` (the embedded broker) is kombu's transport with atomic writes (`fsbroker`).
TRANSPORT_ALIASES["filesystem"] = "newsletter.core.fsbroker:Transport"

# Long enough for any batch; the database lease, not this, decides when work is retried.
VISIBILITY_TIMEOUT = 3600


def _transport_options(settings: Settings, broker_url: str) -> dict[str, Any]:
    options: dict[str, Any] = {"visibility_timeout": VISIBILITY_TIMEOUT}
    if broker_url.startswith(("redis://", "rediss://", "sentinel://")):
        # Always drain `transactional` before looking at `bulk`, in the order the worker's
        # -Q lists them, so a confirmation never waits behind a 100k-message issue.
        options["queue_order_strategy"] = "priority"
    elif broker_url.startswith("filesystem://"):
        root = settings.data_dir.resolve() / "broker"
        folders = {
            "in": root / "queue",
            "processed": root / "processed",
            "control": root / "control",
        }
        options.update(
            data_folder_in=str(folders["in"]),
            data_folder_out=str(folders["in"]),
            processed_folder=str(folders["processed"]),
            control_folder=str(folders["control"]),
            store_processed=False,
            polling_interval=0.1,
        )
    return options


def build_config(settings: Settings) -> dict[str, Any]:
    """Celery configuration derived from the one Settings object."""
    broker_url = settings.resolved_broker_url
    exchange = Exchange("newsletter", type="direct")
    return {
        "broker_url": broker_url,
        "broker_transport_options": _transport_options(settings, broker_url),
        "broker_connection_retry_on_startup": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "task_queues": (
            Queue(TRANSACTIONAL, exchange, routing_key=TRANSACTIONAL),
            Queue(BULK, exchange, routing_key=BULK),
        ),
        "task_default_queue": BULK,
        "task_default_exchange": "newsletter",
        "task_default_routing_key": BULK,
        "task_routes": {
            "newsletter.delivery.tasks.send_batch": {"queue": BULK, "routing_key": BULK},
            # The tick is tiny and must not starve behind a long bulk backlog.
            "newsletter.delivery.tasks.tick": {
                "queue": TRANSACTIONAL,
                "routing_key": TRANSACTIONAL,
            },
            "newsletter.subscribers.tasks.send_confirmation": {
                "queue": TRANSACTIONAL,
                "routing_key": TRANSACTIONAL,
            },
            MAIL_TASK: {"queue": TRANSACTIONAL, "routing_key": TRANSACTIONAL},
        },
        "beat_schedule": {
            "tick": {
                "task": "newsletter.delivery.tasks.tick",
                "schedule": settings.tick_seconds,
                # A tick that could not run in time is superseded by the next one.
                "options": {"expires": settings.tick_seconds},
            }
        },
        "beat_schedule_filename": str(settings.data_dir.resolve() / "celerybeat-schedule"),
        "timezone": "UTC",
        "enable_utc": True,
    }


def reconfigure(settings: Settings | None = None) -> Celery:
    """Re-read settings into the app and drop pooled broker connections.

    The module-level `app` is configured from the environment at import; the CLI and tests
    call this after changing NEWSLETTER_* so publishing goes to the right broker.
    """
    settings = settings or get_settings()
    app.conf.update(build_config(settings))
    # Celery caches a connection pool and a producer pool on first use, bound to the broker
    # it saw then; `app.close()` drops only the first (and deregisters the app), so a new
    # broker URL would still be published to through the old producers. Drop both, as
    # Celery's own after-fork cleanup does.
    # (Only drop the references: kombu keeps pools in a global registry keyed by URL, and a
    # force-closed one would be handed out again when the URL comes back.)
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    return app


# Each feature owns its tasks; the worker imports these modules at start.
TASK_MODULES = ["newsletter.delivery.tasks", "newsletter.subscribers.tasks"]

app = Celery("newsletter", include=TASK_MODULES)
# A bad NEWSLETTER_* must reach the user as one line: the CLI reports it when a command
# first reads the settings, and worker.py reads them again so a worker never starts on
# defaults. An import is the wrong place to fail.
with contextlib.suppress(SettingsError):
    app.conf.update(build_config(get_settings()))


def ensure_broker_folders() -> None:
    """Create the embedded broker's folders (filesystem transport only).

    Done on first use rather than at import, so importing the app never writes to disk.
    """
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@celeryd_init.connect
@beat_init.connect
def _before_connecting(**_kwargs: Any) -> None:
    ensure_broker_folders()


@worker_process_init.connect
def _after_fork(**_kwargs: Any) -> None:
    """Pooled DB connections must never be shared across a fork."""
    dispose_engines()


def wake(task_name: str, ids: Sequence[int]) -> bool:
    """Publish `task_name(ids)` on `transactional` as a hint; False (logged) if it failed.

    For work whose rows are already committed and that a tick picks up anyway (the `mail`
    outbox): the message only saves waiting for that tick, so a broker that is down must
    cost the caller (a signup request) milliseconds and no error. Hence a pooled connection
    checked with a single connect attempt, and no publish retries: kombu's defaults would
    hold the request for seconds. Eager mode (unit tests) runs the task in place instead.
    """
    if not ids:
        return True
    args = [[int(i) for i in ids]]
    if app.conf.task_always_eager:
        app.loader.import_default_modules()  # the task's module, by name (it is a feature's)
        app.tasks[task_name].apply(args=args)
        return True
    try:
        ensure_broker_folders()
        with app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=1
            )
            app.send_task(
                task_name,
                args=args,
                queue=TRANSACTIONAL,
                routing_key=TRANSACTIONAL,
                producer=producer,
                retry=False,
            )
    except Exception as exc:  # any broker trouble: the rows wait for the next tick
        log.warning(
            "%s%s not published (%s); the tick will send it",
            task_name.rpartition(".")[2],
            args[0][:20],
            type(exc).__name__,
        )
        return False
    return True
