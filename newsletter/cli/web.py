"""`newsletter web`: serve the pages, the console, the API and the probes with uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from newsletter.cli.base import ready
from newsletter.core.settings import get_settings
from newsletter.web.serve import run


def register(root: typer.Typer) -> None:
    """Add `newsletter web` to the root app."""
    root.command("web")(web)


def web(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes (default: NEWSLETTER_WEB_WORKERS, else cores)."),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log each request (tokens redacted).")] = True,
) -> None:
    """Serve the subscriber pages, /admin, /api/v1, /metrics and /healthz with uvicorn."""
    ready()
    run(host, port, workers or get_settings().web_workers or os.cpu_count() or 1, access_log)
