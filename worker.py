"""Celery entry point: `celery -A worker worker` and `celery -A worker beat`."""

from newsletter.core.celery_app import app  # noqa: F401
from newsletter.core.settings import get_settings

# Fail here, before Celery starts, if a NEWSLETTER_* setting is unusable (the app module
# tolerates it at import so the CLI can say so in one line).
get_settings()

__all__ = ["app"]
