"""Poison isolation: what the content or one recipient is to blame for fails only its rows.

A part that cannot be rendered (a Jinja or MJML error) or a message that cannot be built
would otherwise raise out of `send_batch`, failing the whole task: every delivery in the
batch, healthy series included, would sit in `sending` until its lease ran out, come back,
fail again, and end `failed` after `max_attempts` with "lease expired … (worker lost)".
Retrying cannot fix content, so those rows fail at once, with the real reason in
`last_error` (the operator's failures list and `/api/v1/deliveries` show it), and the rest
of the batch goes out. After a fix, `newsletter retry-failed` sends them.

Failures of what the content is not to blame for (the database, Redis, the file system
including templates and DKIM keys, the SMTP server, a Celery time limit) are
*infrastructure*: they propagate as before, so the task fails and the rows come back after
their lease. Everything else (ValueError from MJML, KeyError, TypeError, a bug that only
this essay triggers) counts as poison. A bug that hits every message therefore fails every
message quickly rather than slowly, with its exception named, which is the point.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from newsletter.mail.errors import SendError

# OSError covers sockets, timeouts, missing files and jinja2.TemplateNotFound.
INFRASTRUCTURE: tuple[type[BaseException], ...] = (
    OSError,
    SQLAlchemyError,
    RedisError,
    SendError,
    MemoryError,
    SoftTimeLimitExceeded,
    TimeLimitExceeded,
)
MAX_DETAIL = 200
# Control characters and lone surrogates: PostgreSQL text refuses NUL, UTF-8 surrogates.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:@]+@[^\s<>()\[\]\"',;:@]+")
# Names shorter than this are not searched for: hiding "Al" would garble the message and
# says nothing about who it is.
_MIN_HIDDEN = 3


def is_infrastructure(exc: BaseException) -> bool:
    """Whether `exc` is a failure of our systems rather than of this content or recipient."""
    return isinstance(exc, INFRASTRUCTURE) or not isinstance(exc, Exception)


def reason(stage: str, exc: BaseException, *, hide: Iterable[str] = ()) -> str:
    """One line for `last_error`: "render failed: ValueError: unable to parse …".

    No addresses (anything shaped like one, and the recipient's own address and name in
    `hide`), no control characters, at most `MAX_DETAIL` characters of detail.
    """
    detail = " ".join(str(exc).split())
    for secret in hide:
        if len(secret) >= _MIN_HIDDEN:
            detail = detail.replace(secret, "[recipient]")
    detail = _ADDRESS.sub("[address]", detail)
    detail = _UNPRINTABLE.sub(lambda m: f"U+{ord(m.group()):04X}", detail)
    if len(detail) > MAX_DETAIL:
        detail = detail[: MAX_DETAIL - 1] + "…"
    head = f"{stage} failed: {type(exc).__name__}"
    return f"{head}: {detail}" if detail else head
