"""Running the app under uvicorn without writing tokens or addresses into the logs.

Uvicorn's access log prints the full request path, and our paths carry signed tokens
(/confirm/…, /unsubscribe/…, /manage/…) and the client address. A filter rewrites both
before any handler sees the record.
"""

from __future__ import annotations

import logging
import re

import uvicorn

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
    uvicorn.run(
        "newsletter.web.asgi:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        access_log=access_log,
        log_config=log_config(),
    )
