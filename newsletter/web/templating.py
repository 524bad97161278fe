"""Jinja2 for the web pages: autoescaped, one environment per templates directory.

Pages get a few globals (the static CSS URL, the public base URL) and the per-request
values the layout needs (current user, CSRF token) through `render()`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from newsletter.core.settings import get_settings
from newsletter.web import csrf


def web_templates_dir() -> Path:
    return get_settings().templates_dir / "web"


@functools.cache
def _environment(directory: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["localtime"] = local_time
    env.filters["isodate"] = lambda value: value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""
    env.globals["css_url"] = f"/static/style.css?v={_css_version(directory)}"
    return env


def get_environment() -> Environment:
    return _environment(web_templates_dir())


def _css_version(directory: Path) -> str:
    path = directory / "static" / "style.css"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.exists() else "0"


def local_time(value: dt.datetime | None, tz: str = "UTC", fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A naive-UTC datetime shown in the series' time zone."""
    if value is None:
        return "—"
    zone = ZoneInfo(tz)
    return value.replace(tzinfo=dt.UTC).astimezone(zone).strftime(fmt) + f" {zone.key}"


def site_name() -> str:
    """The display name of the sender address: what readers know us as."""
    name, _ = parseaddr(get_settings().from_)
    return name or "Newsletter"


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render `templates/web/<name>` with the request-scoped layout values."""
    settings = get_settings()
    values = {
        "request": request,
        "site_name": site_name(),
        "postal_address": settings.postal_address,
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf.request_token(request),
        "base_url": settings.base_url.rstrip("/"),
        **(context or {}),
    }
    html = get_environment().get_template(name).render(values)
    return HTMLResponse(html, status_code=status_code)
