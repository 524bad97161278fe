"""The editors' console: series, their schedules, pause/resume/reschedule, previews, tests.

Every change goes through `newsletter.scheduling.series`; the page only shows what the
schedule view reports. Previews render the stored snapshot with sample subscriber values,
inside a sandboxed iframe at 600 px (desktop mail clients) and 375 px (phones).
"""

from __future__ import annotations

import datetime as dt
import logging

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from newsletter.core.db.session import transaction
from newsletter.core.errors import NotFound, UserError
from newsletter.delivery import testsend
from newsletter.delivery.queries import all_series_progress, series_progress
from newsletter.render import sample_values
from newsletter.scheduling import series as series_service
from newsletter.scheduling.sender import render_part
from newsletter.subscribers.progress import reader_spread
from newsletter.users.models import Role
from newsletter.web import csrf, preview
from newsletter.web.auth import console_router
from newsletter.web.charts import count_chart
from newsletter.web.templating import render

log = logging.getLogger(__name__)
router = console_router("/admin/series", Role.EDITOR)

FLASH = {
    "paused": "Series paused. Nothing more goes out until you resume it.",
    "resumed": "Series resumed. Parts that came due during the pause go out at the next tick.",
    "rescheduled": "Schedule updated.",
    "tested": "Test message sent.",
}


@router.get("")
def series_list(request: Request) -> Response:
    with transaction() as session:
        views = all_series_progress(session)
    return render(request, "admin/series_list.html", {"series": views, "section": "series"})


@router.get("/{slug}")
def series_detail(request: Request, slug: str, done: str | None = None) -> Response:
    with transaction() as session:
        view = series_progress(session, slug)
        spread = reader_spread(session, view.series_id) if view.mode == "serial" else None
    return render(
        request,
        "admin/series.html",
        {
            "view": view,
            "spread": spread,
            "chart": count_chart(spread.buckets(), "readers") if spread else None,
            "flash": FLASH.get(done or ""),
            "section": "series",
        },
    )


@router.post("/{slug}/pause", dependencies=[Depends(csrf.verify)])
def pause(slug: str) -> Response:
    with transaction() as session:
        series_service.pause(session, slug)
    return RedirectResponse(f"/admin/series/{slug}?done=paused", status_code=303)


@router.post("/{slug}/resume", dependencies=[Depends(csrf.verify)])
def resume(slug: str) -> Response:
    with transaction() as session:
        series_service.resume(session, slug)
    return RedirectResponse(f"/admin/series/{slug}?done=resumed", status_code=303)


@router.post("/{slug}/reschedule", dependencies=[Depends(csrf.verify)])
def reschedule(
    slug: str, part: int = Form(), at: str = Form(), only: bool = Form(False)
) -> Response:
    try:
        when = dt.datetime.fromisoformat(at)
    except ValueError as exc:
        raise UserError("the new date must look like 2026-12-01T09:00") from exc
    with transaction() as session:
        series_service.reschedule(session, slug, part, when.replace(tzinfo=None), only=only)
    return RedirectResponse(f"/admin/series/{slug}?done=rescheduled", status_code=303)


@router.get("/{slug}/preview/{number}")
def preview_page(request: Request, slug: str, number: int, scheme: str | None = None) -> Response:
    rendered = _rendered(slug, number)
    _, text = rendered.personalise(sample_values(slug, number))
    base = f"/admin/series/{slug}/preview/{number}"
    context = {
        "back": (f"/admin/series/{slug}", "← Back to the schedule"),
        "edit": f"/admin/series/{slug}/parts/{number}/edit",
        "src": f"{base}/email.html",
        "page": base,
        "test_action": f"/admin/series/{slug}/test",
        "scheme": preview.scheme_of(scheme),
        "number": number,
        "issue": rendered,
        "text": text,
        "section": "series",
    }
    return render(request, "admin/preview.html", context)


@router.get("/{slug}/preview/{number}/email.html")
def preview_email(slug: str, number: int, scheme: str | None = None) -> Response:
    html, _ = _rendered(slug, number).personalise(sample_values(slug, number))
    return preview.email_response(html, preview.scheme_of(scheme))


def _rendered(slug: str, number: int):
    with transaction() as session:
        series = series_service.get_series(session, slug)
        if not any(essay.number == number for essay in series.essays):
            raise NotFound(f"series {slug!r} has no part {number}")
        return render_part(session, series, number, serial=False)


@router.post("/{slug}/test", dependencies=[Depends(csrf.verify)])
async def send_test(
    slug: str, number: int = Form(), email: str = Form(), next: str | None = Form(None)
) -> Response:
    """Send part `number` to one address; come back to the screen it was sent from."""
    rendered = await run_in_threadpool(_rendered, slug, number)
    await run_in_threadpool(testsend.send_test, rendered, slug, number, email)
    back = preview.safe_next(next, f"/admin/series/{slug}/", f"/admin/series/{slug}")
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}done=tested", status_code=303)
