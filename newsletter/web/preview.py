"""Email previews in the console: one rendered part, framed at 600 and 375 px, light or dark.

Every edit screen (a stored series' part, a studio draft's part) shows the same preview, so
the framing lives here. The email HTML is ours but still a separate document: it is served
with a CSP that allows no scripts and may only be framed by the console.

Dark mode: the email carries its own `@media (prefers-color-scheme: dark)` rules, which is
what Apple Mail, iOS Mail and Outlook apply. A frame cannot be told to prefer dark, so the
dark preview turns those rules on unconditionally; it shows our dark styles, not a client's
own colour inversion (Gmail's apps), which no preview can reproduce.
"""

from __future__ import annotations

from typing import Literal

from fastapi.responses import HTMLResponse

Scheme = Literal["light", "dark"]
SCHEMES: tuple[Scheme, ...] = ("light", "dark")
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; "
    "font-src https: data:; frame-ancestors 'self'"
)
_DARK_QUERY = "@media (prefers-color-scheme: dark)"


def scheme_of(value: str | None) -> Scheme:
    """The requested scheme; anything else is light (a bad query value is not an error)."""
    return "dark" if value == "dark" else "light"


def as_scheme(html: str, scheme: Scheme) -> str:
    """The email as a client in `scheme` shows it."""
    if scheme == "dark":
        return html.replace(_DARK_QUERY, "@media all")
    return html


def email_response(html: str, scheme: Scheme) -> HTMLResponse:
    """The email document for the preview frame."""
    return HTMLResponse(
        as_scheme(html, scheme),
        headers={"Content-Security-Policy": PREVIEW_CSP, "X-Frame-Options": "SAMEORIGIN"},
    )


def safe_next(value: str | None, prefix: str, default: str) -> str:
    """A redirect target after a form, kept inside `prefix` (no open redirect)."""
    if value and value.startswith(prefix) and "//" not in value and "\\" not in value:
        return value
    return default
