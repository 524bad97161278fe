"""The FastAPI application: routers, error handling, security headers, static CSS.

`create_app()` builds a fresh app (tests use it); `newsletter.web.asgi:app` is the one
uvicorn serves. HTML page routes are left out of the OpenAPI schema, which documents the JSON API
and the probes only.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsletter.core.settings import get_settings
from newsletter.web import errors
from newsletter.web.api import delivery as api_delivery
from newsletter.web.api import openapi as api_openapi
from newsletter.web.api import series as api_series
from newsletter.web.api import subscribers as api_subscribers
from newsletter.web.routes import archive, delivery, metrics, series, signup, subscription, users
from newsletter.web.templating import web_templates_dir

# Pages never load anything from elsewhere; email previews set their own, looser policy.
DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
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
    for module in (
        signup,
        subscription,
        archive,
        users,
        series,
        delivery,
        api_series,
        api_subscribers,
        api_delivery,
        metrics,
    ):
        app.include_router(module.router)

    @app.get("/static/style.css", include_in_schema=False)
    def stylesheet() -> Response:
        return FileResponse(
            web_templates_dir() / "static" / "style.css",
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    api_openapi.install(app)
    app.add_middleware(CatchAll)
    app.add_middleware(SecurityHeaders)  # outermost: error pages get the headers too
    return app
