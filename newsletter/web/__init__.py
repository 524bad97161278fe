"""The web feature: subscriber pages, the /admin console, /api/v1, /metrics and /healthz.

Only the package docstring lives here: `newsletter.web.application.create_app()` builds an
app and `newsletter.web.asgi:app` is the one uvicorn serves.
"""
