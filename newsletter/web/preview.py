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

from dataclasses import dataclass
from typing import Literal

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from newsletter.core.errors import UserError
from newsletter.core.settings import get_settings
from newsletter.delivery import testsend
from newsletter.render import RenderedIssue, sample_values
from newsletter.scheduling.slots import progress_line
from newsletter.web.templating import render

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


def reader_values(slug: str, number: int, total: int, serial: bool) -> dict[str, str]:
    """A sample reader's values for part `number` of `total`. A serial part's footer also
    gets a progress line (no date: a preview has no reader's clock) and control links."""
    values = sample_values(slug, number)
    if serial:
        base = get_settings().base_url.rstrip("/")
        following = number + 1 if number < total else None
        values |= {
            "progress": progress_line(number, total, following, None, "UTC"),
            "next_url": f"{base}/next/sample-token",
            "pause_url": f"{base}/pause/sample-token",
        }
    return values


@dataclass(frozen=True)
class PreviewPart:
    """One rendered part and where its preview lives: `base` is the preview page's URL,
    `back` the (URL, label) of the screen it belongs to, `edit` its edit screen if any."""

    slug: str
    number: int
    rendered: RenderedIssue
    values: dict[str, str]
    base: str
    back: tuple[str, str]
    test_action: str
    edit: str | None = None


def page_context(
    part: PreviewPart, scheme: str | None, error: str | None = None, email: str = ""
) -> dict:
    """The context of admin/preview.html; `error` is a failed test send's message and
    `email` the address it was for (kept in the form, to fix)."""
    _, text = part.rendered.personalise(part.values)
    return {
        "back": part.back,
        "edit": part.edit,
        "src": f"{part.base}/email.html",
        "page": part.base,
        "test_action": part.test_action,
        "scheme": scheme_of(scheme),
        "number": part.number,
        "issue": part.rendered,
        "text": text,
        "test_error": error,
        "test_email": email,
        "section": "series",
    }


def scheme_in(url: str | None) -> str | None:
    """The scheme a preview URL (a test form's `next`) asked for, to show it again."""
    return "dark" if url and "scheme=dark" in url else None


async def send_test(
    request: Request, part: PreviewPart, email: str, next: str | None, home: str
) -> Response:
    """Send `part` to `email` as a test and go back to `next` (kept inside `home`), or show
    the refusal (a bad address, sending paused, the server said no) on its preview."""
    try:
        await run_in_threadpool(
            testsend.send_test, part.rendered, part.slug, part.number, email, part.values
        )
    except UserError as exc:
        context = page_context(part, scheme_in(next), str(exc), email[:320])
        return render(request, "admin/preview.html", context, status_code=exc.http_status)
    back = safe_next(next, f"{home}/", home)
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}done=tested", status_code=303)
