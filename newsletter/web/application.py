"""The FastAPI application: routers, error handling, security headers, static files.

`create_app()` builds a fresh app (tests use it); `newsletter.web.asgi:app` is the one
uvicorn serves. HTML page routes are left out of the OpenAPI schema, which documents the JSON API
and the probes only. `create_metrics_app()` is the /metrics-only app for NEWSLETTER_METRICS_BIND.

Around the routes: the client's address from a trusted proxy's X-Forwarded-For (uvicorn's
`ProxyHeadersMiddleware`, trusting only NEWSLETTER_FORWARDED_ALLOW_IPS), `InputLimits` (a 404
for control characters in the path, a 413 for a body over the cap before anything parses
it), a last-resort 500 page and the security headers.
"""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from newsletter.core.errors import NotFound
from newsletter.core.settings import get_settings, trusted_proxies
from newsletter.web import errors
from newsletter.web.api import audit as api_audit
from newsletter.web.api import delivery as api_delivery
from newsletter.web.api import manuscripts as api_manuscripts
from newsletter.web.api import openapi as api_openapi
from newsletter.web.api import series as api_series
from newsletter.web.api import subscribers as api_subscribers
from newsletter.web.audit import AuditTrail
from newsletter.web.routes import (
    accounts,
    archive,
    audit,
    delivery,
    dns,
    guide,
    metrics,
    people,
    reader,
    schedule,
    series,
    series_edit,
    signup,
    studio,
    subscription,
    users,
)
from newsletter.web.templating import web_templates_dir

# The static files, each with its type and cache lifetime: style.css (every page),
# zone.js (fills the signup form's time zone; without it the series' zone is used),
# console.js (marks tables that overflow their box so the "scroll →" cue shows; without it
# the edge shadows alone say there is more), confirm.js (presses the confirm button once the
# page is visible; without it the reader presses it), studio.js (the studio splits a block
# at the cursor; without it the editor types the position).
STATIC = {
    "style.css": ("text/css", 86400),
    "zone.js": ("text/javascript", 86400),
    "console.js": ("text/javascript", 3600),
    "confirm.js": ("text/javascript", 3600),
    "studio.js": ("text/javascript", 3600),
}

# Pages never load anything from elsewhere; email previews set their own, looser policy.
DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
HSTS = b"max-age=31536000; includeSubDomains"
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    # Our URLs carry tokens; never hand them to another site in a Referer header.
    (b"referrer-policy", b"no-referrer"),
]


class _HttpMiddleware:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the signup hot path) that
    acts on HTTP requests only and passes everything else (lifespan) straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        else:
            await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class SecurityHeaders(_HttpMiddleware):
    """Our security headers on every response, unless the route set its own CSP; HSTS
    when the public URL is https (a browser then never tries plain http for us again)."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self.https = get_settings().base_url.startswith("https://")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in _HEADERS if k not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", DEFAULT_CSP.encode()))
                if self.https and b"strict-transport-security" not in names:
                    headers.append((b"strict-transport-security", HSTS))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class InputLimits(_HttpMiddleware):
    """What no route should have to think about: control characters in the path, and bodies
    over NEWSLETTER_MAX_BODY_BYTES (1 MB).

    No URL of ours holds a control character, and PostgreSQL refuses a NUL in text (a 500 if
    `/s/la%00bor` reached a query), so such a path is a 404 here. Nothing we accept is near
    1 MB, and a parser handed 100 MB of JSON or form fields would hold a worker for nothing.
    A declared Content-Length over the cap is refused before the app runs (and h11 holds the
    client to what it declared). A chunked body is read here first, up to the cap, and
    handed on from memory: a route that never reads its body would otherwise answer 200 to
    any amount of it. Both answers are the usual error page or JSON, with status 413.
    """

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self.limit = get_settings().max_body_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if _CONTROL.search(scope["path"]):
            await self.refuse(scope, receive, send, 404)
        elif declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self.refuse(scope, receive, send, 413 if declared.isdigit() else 400)
        elif declared is None and b"transfer-encoding" in headers:
            try:
                body = await self.read_up_to_limit(receive)
            except _ClientGone:
                return
            if body is None:
                await self.refuse(scope, receive, send, 413)
            else:
                await self.app(scope, _replay(body, receive), send)
        else:
            await self.app(scope, receive, send)

    async def read_up_to_limit(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it is over the cap."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _ClientGone()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def refuse(self, scope: Scope, receive: Receive, send: Send, status: int) -> None:
        message = {
            400: "The Content-Length header is not a number.",
            404: "There is nothing at this address.",
            413: f"The request body is too large (at most {self.limit:,} bytes).",
        }[status]
        await errors.answer(Request(scope), status, message)(scope, receive, send)


class _ClientGone(Exception):
    """The client hung up before its body was all there: nobody to answer."""


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands over an already-read body once, then waits as the server's."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class CatchAll(_HttpMiddleware):
    """Answer unexpected exceptions here, before Starlette's ServerErrorMiddleware.

    That middleware re-raises so the server logs the full exception, and a database
    error's message quotes its parameters (addresses). We log type and frames only.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            response = errors.unexpected(Request(scope), exc)
            if not started:
                await response(scope, receive, send)


def create_app() -> FastAPI:
    app = FastAPI(
        title="newsletter",
        version="1",
        description="JSON API of the self-hosted newsletter service. "
        "Authenticate with `Authorization: Bearer <token>` (`newsletter users token EMAIL`).",
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app)
    app.include_router(users.account)
    for module in (
        signup,
        subscription,
        reader,
        archive,
        users,
        studio,  # before series: /admin/series/new is not a slug
        guide,
        series,
        series_edit,
        delivery,
        accounts,
        audit,
        dns,
        people,
        schedule,
        api_series,
        api_manuscripts,
        api_subscribers,
        api_delivery,
        api_audit,
        metrics,
    ):
        app.include_router(module.router)
    app.include_router(people.admin_router)  # the subscribers console's writes (admins)

    @app.get("/static/{name}", include_in_schema=False)
    def static_file(name: str) -> Response:
        """The few files pages load (STATIC lists them and why); anything else is a 404."""
        if name not in STATIC:
            raise NotFound("no such file")
        media_type, max_age = STATIC[name]
        return FileResponse(
            web_templates_dir() / "static" / name,
            media_type=media_type,
            headers={"Cache-Control": f"public, max-age={max_age}"},
        )

    api_openapi.install(app)

    # Build every route's context now, in the thread that makes the app: FastAPI otherwise
    # builds them at the first requests, and pydantic's schema building swaps the process's
    # warning filters, which is not thread-safe (two first requests at once could see a
    # warning raised as an error, a 500).
    for _ in iter_route_contexts(app.routes):
        pass
    app.add_middleware(AuditTrail)  # innermost: it sees the route and the final status
    _wrap(app)
    proxies = trusted_proxies(get_settings().forwarded_allow_ips)
    if proxies:  # uvicorn's own parser: the rightmost address no trusted proxy vouches for
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    app.add_middleware(SecurityHeaders)  # outermost: error pages get the headers too
    return app


def create_metrics_app() -> FastAPI:
    """Only /metrics, for the private listener at NEWSLETTER_METRICS_BIND (`web.serve`)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    errors.install(app)
    app.include_router(metrics.private_router)
    _wrap(app)
    app.add_middleware(SecurityHeaders)
    return app


def _wrap(app: FastAPI) -> None:
    app.add_middleware(CatchAll)
    app.add_middleware(InputLimits)
