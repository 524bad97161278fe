"""The audit trail of the console and the API, written for every route in one place.

`AuditTrail` is a pure ASGI middleware. For every mutating request (POST, PUT, PATCH,
DELETE) under /admin and /api, and for the GET routes marked `@exports` (downloads of
personal data or of the trail itself), it appends one audit entry once the answer is
known: the actor the auth dependencies left on `request.state`, the action (the router
module and handler, say `series.pause` or `api.subscribers.signup`), the route template,
its path parameters as the target, and the outcome from the status code. Adding a route
therefore adds its audit entries without touching this module.

Requests without a known actor (no or bad credentials) are not recorded: they changed
nothing and would let anyone fill the table. Handlers whose meaning is richer than a route
name (account administration, sign-in and sign-out) write their own entry in their own
transaction through `explicit_actor`; the middleware then records only their failures.

The entry is written before the response starts, in its own transaction, after the
handler's own has committed. A failure to write it is logged, never shown to the client:
the change it describes has already happened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsletter.core.db.session import transaction
from newsletter.users.audit import Actor, Outcome, outcome_of, record_action
from newsletter.users.models import User

log = logging.getLogger(__name__)

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PREFIXES = ("/admin/", "/api/")
F = TypeVar("F", bound=Callable[..., Any])


def exports(endpoint: F) -> F:
    """Mark a GET route that hands out data worth knowing who took (an export)."""
    endpoint.__audit_export__ = True  # type: ignore[attr-defined]
    return endpoint


def actor_from_state(state: dict[str, Any]) -> Actor | None:
    user = state.get("user")
    if not isinstance(user, User):
        return None
    return Actor(user.id, user.role, str(state.get("auth", "")), state.get("credential_id"))


def explicit_actor(request: Request) -> Actor:
    """The actor, for a handler that records its own entry (the middleware then does not
    record a successful answer a second time)."""
    actor = actor_from_state(request.scope.setdefault("state", {}))
    if actor is None:  # the route forgot its auth dependency: a bug, not a user mistake
        raise RuntimeError("explicit_actor() on a request without an authenticated user")
    request.state.audited = True
    return actor


def action_of(endpoint: Callable[..., Any] | None) -> str:
    """`series.pause` for `newsletter.web.routes.series.pause`; `api.` for API routes."""
    if endpoint is None:
        return "unknown"
    parts = getattr(endpoint, "__module__", "").split(".")
    feature = parts[-1] if parts else "?"
    prefix = "api." if "api" in parts[:-1] else ""
    return f"{prefix}{feature}.{getattr(endpoint, '__name__', '?')}"


def _wanted(scope: Scope) -> bool:
    path = scope["path"]
    if not path.startswith(PREFIXES):
        return False
    if scope["method"] in MUTATING:
        return True
    return bool(getattr(scope.get("endpoint"), "__audit_export__", False))


def _write(scope: Scope, status: int) -> None:
    state = scope.get("state") or {}
    actor = actor_from_state(state)
    outcome = outcome_of(status)
    if actor is None or (state.get("audited") and outcome == Outcome.OK):
        return
    route = scope.get("route")
    template = getattr(route, "path", None) or "?"
    try:
        with transaction() as session:
            record_action(
                session,
                actor,
                action_of(scope.get("endpoint")),
                scope.get("path_params") or {},
                outcome,
                status=status,
                route=f"{scope['method']} {template}",
            )
    except Exception as exc:  # noqa: BLE001  (the change happened; do not fail its answer)
        log.error("audit entry not written for %s: %s", template, type(exc).__name__)


class AuditTrail:
    """Records the audit entry of each wanted request (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIXES):
            await self.app(scope, receive, send)
            return
        written = False

        async def send_after_writing(message: Message) -> None:
            nonlocal written
            if message["type"] == "http.response.start" and not written:
                written = True
                if _wanted(scope):
                    await run_in_threadpool(_write, scope, message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_after_writing)
        finally:
            if not written and _wanted(scope):  # an exception the app did not answer
                await run_in_threadpool(_write, scope, 500)
