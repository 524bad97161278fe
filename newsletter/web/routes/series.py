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
from newsletter.delivery.queries import all_series_progress, series_progress
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
    "created": "Series created. Its parts are scheduled below; readers who sign up now join it.",
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
    return render(request, "admin/preview.html", preview.page_context(_part(slug, number), scheme))


@router.get("/{slug}/preview/{number}/email.html")
def preview_email(slug: str, number: int, scheme: str | None = None) -> Response:
    part = _part(slug, number)
    html, _ = part.rendered.personalise(part.values)
    return preview.email_response(html, preview.scheme_of(scheme))


def _part(slug: str, number: int) -> preview.PreviewPart:
    """Part `number` as its readers get it, with a sample reader (serial: their footer)."""
    with transaction() as session:
        series = series_service.get_series(session, slug)
        if not any(essay.number == number for essay in series.essays):
            raise NotFound(f"series {slug!r} has no part {number}")
        serial = series.mode == "serial"
        rendered = render_part(session, series, number, serial=serial)
        total = len(series.essays)
    base = f"/admin/series/{slug}/preview/{number}"
    return preview.PreviewPart(
        slug=slug,
        number=number,
        rendered=rendered,
        values=preview.reader_values(slug, number, total, serial),
        base=base,
        back=(f"/admin/series/{slug}", "← Back to the schedule"),
        test_action=f"/admin/series/{slug}/test",
        edit=f"/admin/series/{slug}/parts/{number}/edit",
    )


@router.post("/{slug}/test", dependencies=[Depends(csrf.verify)])
async def send_test(
    request: Request,
    slug: str,
    number: int = Form(),
    email: str = Form(),
    next: str | None = Form(None),
) -> Response:
    """Send part `number` to one address; come back to the screen it was sent from."""
    part = await run_in_threadpool(_part, slug, number)
    return await preview.send_test(request, part, email, next, f"/admin/series/{slug}")
