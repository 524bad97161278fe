"""The operators' console: the queue dashboard, retrying failures, the global pause.

The dashboard is `newsletter.delivery.monitor.operator_view()` drawn as HTML; the actions call the
delivery feature's services (`retry_failed` only ever touches `failed` rows, so a sent
message is never sent twice).
"""

from __future__ import annotations

import logging

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from newsletter.core.db.session import transaction
from newsletter.delivery import brakes, control, monitor
from newsletter.delivery.retry import retry_failed
from newsletter.users.models import Role
from newsletter.web import csrf
from newsletter.web.auth import console_router
from newsletter.web.charts import rate_chart
from newsletter.web.templating import render

log = logging.getLogger(__name__)
router = console_router("/admin/queue", Role.OPERATOR)


@router.get("")
def dashboard(request: Request, done: str | None = None, n: int | None = None) -> Response:
    with transaction() as session:
        view = monitor.operator_view(session)
    flash = {
        "retried": f"{n or 0} failed deliveries put back in the queue.",
        "paused": "Sending is paused. Workers hand back what they hold; nothing is lost.",
        "resumed": "Sending resumed.",
        "issue-resumed": "The issue's brake is off; the next tick sends what it held.",
    }.get(done or "")
    return render(
        request,
        "admin/queue.html",
        {"view": view, "chart": rate_chart(view.send_rate), "flash": flash, "section": "queue"},
    )


@router.post("/retry", dependencies=[Depends(csrf.verify)])
def retry(issue_id: str = Form("")) -> Response:
    """A blank or unusable issue id means "every failed delivery", as the form says."""
    digits = issue_id.strip()
    target = int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 19 else None
    with transaction() as session:
        count = retry_failed(session, target)
    log.info("operator retried %s failed deliveries (issue %s)", count, target or "all")
    return RedirectResponse(f"/admin/queue?done=retried&n={count}", status_code=303)


@router.post("/pause", dependencies=[Depends(csrf.verify)])
def pause() -> Response:
    return _switch(paused=True)


@router.post("/resume", dependencies=[Depends(csrf.verify)])
def resume() -> Response:
    return _switch(paused=False)


def _switch(*, paused: bool) -> Response:
    """Flip the global sending switch and say so on the dashboard."""
    with transaction() as session:
        control.set_paused(session, paused)
    done = "paused" if paused else "resumed"
    log.info("operator %s sending", done)
    return RedirectResponse(f"/admin/queue?done={done}", status_code=303)


@router.post("/issues/{issue_id}/resume", dependencies=[Depends(csrf.verify)])
def resume_issue(issue_id: int) -> Response:
    """Lift one issue's automatic brake (a no-op for an issue that is not braked)."""
    with transaction() as session:
        resumed = brakes.release(session, issue_id)
    log.info("operator resumed braked issue %s (%s)", issue_id, resumed)
    return RedirectResponse("/admin/queue?done=issue-resumed", status_code=303)
