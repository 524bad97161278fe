"""The ASGI app uvicorn serves (`newsletter.web.asgi:app`), built once per process."""

from newsletter.web.application import create_app

app = create_app()
