"""Celery entry point: `celery -A worker worker` and `celery -A worker beat`."""

from newsletter.core.celery_app import app  # noqa: F401

__all__ = ["app"]
