"""Web-only settings, read from the same `NEWSLETTER_*` environment as `Settings`.

They live here rather than in `newsletter/settings.py` because only the web process reads
them; the object is rebuilt whenever the core settings are reset (tests change the env).
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from newsletter.settings import Settings, get_settings


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSLETTER_", extra="ignore")

    # POST /subscribe attempts allowed per client IP per window; 0 disables (benchmarks).
    signup_rate_limit: int = 10
    signup_rate_window: int = 600  # seconds
    # Every signup answer takes at least this long, so a new address (insert + mail) and a
    # known one (nothing to do) cannot be told apart by timing.
    signup_min_seconds: float = 0.03
    login_rate_limit: int = 20
    session_max_age: int = 12 * 3600  # seconds a console login lasts
    web_workers: int = 1  # uvicorn worker processes for `newsletter web`


_cache: tuple[Settings, WebSettings] | None = None


def get_web_settings() -> WebSettings:
    global _cache
    core = get_settings()
    if _cache is None or _cache[0] is not core:
        _cache = (core, WebSettings())
    return _cache[1]


def secure_cookies() -> bool:
    """Cookies get `Secure` whenever the public URL is https."""
    return get_settings().base_url.startswith("https://")
