"""Running the app under uvicorn without writing tokens or addresses into the logs.

Uvicorn's access log prints the full request path, and our paths carry signed tokens
(/confirm/…, /unsubscribe/…, /manage/…) and the client address. A filter rewrites both
before any handler sees the record.

Uvicorn's own proxy-header handling is switched off: it would trust X-Forwarded-For from
loopback, and the app applies NEWSLETTER_FORWARDED_ALLOW_IPS itself (`create_app`), so it
behaves the same under any server. With NEWSLETTER_METRICS_BIND set, a second, tiny app
serving only /metrics listens there, in a thread of the process that runs `newsletter web`.
"""

from __future__ import annotations

import logging
import re
import socket
import threading

import uvicorn

from newsletter.core.errors import UserError
from newsletter.core.settings import get_settings, split_bind
from newsletter.web.application import create_metrics_app

WORKER_HEALTHCHECK_SECONDS = 30
_TOKEN_PATH = re.compile(r"^/(confirm|unsubscribe|manage)/[^/?\s]+")


def redact_path(path: str) -> str:
    """`/unsubscribe/<token>?x` → `/unsubscribe/…`: keep the route, drop the credential."""
    return _TOKEN_PATH.sub(lambda m: f"/{m.group(1)}/…", path).split("?", 1)[0]


class RedactAccessLog(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            _client, method, path, version, status = args
            record.args = ("-", method, redact_path(str(path)), version, status)
        return True


def log_config() -> dict:
    config = dict(uvicorn.config.LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": "newsletter.web.serve.RedactAccessLog"}}
    handlers = {name: dict(h) for name, h in config["handlers"].items()}
    handlers["access"]["filters"] = ["redact"]
    config["handlers"] = handlers
    return config


def run(host: str, port: int, workers: int, access_log: bool = True) -> None:
    bind = get_settings().metrics_bind
    if bind:
        serve_metrics(bind)
    uvicorn.run(
        "newsletter.web.asgi:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        access_log=access_log,
        log_config=log_config(),
        # A new worker re-imports the whole app before it can answer the supervisor's ping;
        # on a busy 2-core host that took over uvicorn's default 5 s, and the supervisor
        # killed and respawned workers in a loop. A hung worker is still replaced.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


def serve_metrics(bind: str) -> threading.Thread:
    """Serve /metrics on `bind` (host:port) from a daemon thread; it ends with the process.

    The socket is bound here, before uvicorn starts, so an address in use or not ours is a
    one-line error from `newsletter web`, not a thread that dies quietly.
    """
    host, port = split_bind(bind)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"NEWSLETTER_METRICS_BIND {bind}: {exc.strerror or exc}") from None
    config = uvicorn.Config(create_metrics_app(), log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="metrics", daemon=True
    )
    thread.start()
    return thread
