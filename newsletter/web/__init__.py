"""The web feature: subscriber pages, the /admin console, /api/v1, /metrics and /healthz."""

from newsletter.web.app import create_app

app = create_app()

__all__ = ["app", "create_app"]
