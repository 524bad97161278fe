"""The subscribers console: search, one person's page, add, import, export, unsubscribe, erase.

Operators read (search, a person's subscriptions and events, the CSV export); only admins
change anything, so the writes sit on their own router tagged for admins. Every write is a
CSRF-checked POST through the subscribers facade (`service`, `importer`) and is audited by
the `AuditTrail` middleware; the export is marked `@exports`. Nothing here logs an address:
the pages show them, the log and the audit trail name ids only.

The import keeps the CLI's semantics: every row is validated first, the bad ones are named
(line and reason) and skipped, the good ones go in as one transaction.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from newsletter.core.db.session import transaction
from newsletter.core.errors import NotFound, UserError
from newsletter.scheduling.queries import all_series
from newsletter.subscribers import queries, service
from newsletter.subscribers.formats import to_csv
from newsletter.subscribers.importer import decode, import_rows, parse_rows
from newsletter.subscribers.progress import reader_progress
from newsletter.users.models import Role
from newsletter.web import csrf
from newsletter.web.api.params import IdPath
from newsletter.web.audit import exports
from newsletter.web.auth import console_router
from newsletter.web.templating import render

router = console_router("/admin/subscribers", Role.OPERATOR)
admin_router = console_router("/admin/subscribers", Role.ADMIN)

MAX_UPLOAD = 900_000  # under the app's 1 MB body limit, which answers 413 first
FLASH = {
    "added": "Subscriber added.",
    "unsubscribed": "Unsubscribed.",
    "erased": "Subscriber erased. Anonymous delivery counts are kept.",
}


def _series_choices() -> list[tuple[str, str]]:
    with transaction() as session:
        return [(s.slug, s.title) for s in all_series(session)]


def _is_admin(request: Request) -> bool:
    user = getattr(request.state, "user", None)
    return user is not None and user.role == Role.ADMIN


@router.get("")
def subscriber_search(
    request: Request,
    q: Annotated[str, Query(max_length=320)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: str | None = None,
) -> Response:
    with transaction() as session:
        found = queries.search_subscribers(session, q, page)
        rows = [
            {"id": s.id, "email": s.email, "name": s.name, "status": s.status} for s in found.rows
        ]
    return render(
        request,
        "admin/subscribers.html",
        {
            "q": q,
            "found": found,
            "rows": rows,
            "series_choices": _series_choices(),
            "can_write": _is_admin(request),
            "flash": FLASH.get(done or ""),
            "section": "subscribers",
        },
    )


@router.get("/export.csv")
@exports  # addresses leave the system: the audit trail says who took them
def subscriber_export(series: str | None = None, status: str | None = None) -> Response:
    with transaction() as session:
        text = to_csv(queries.iter_rows(session, series or None, status or None))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="subscribers.csv"'},
    )


@router.get("/{subscriber_id}")
def subscriber_detail(request: Request, subscriber_id: IdPath, done: str | None = None) -> Response:
    with transaction() as session:
        person = queries.present_subscriber(session, subscriber_id)
        if person is None:
            raise NotFound(f"no subscriber with id {subscriber_id}")
        context = {
            "person": {
                "id": person.id,
                "email": person.email,
                "name": person.name,
                "status": person.status,
                "source": person.source,
                "timezone": person.timezone,
                "created_at": person.created_at,
            },
            "progress": reader_progress(session, subscriber_id),
            "events": [
                {"kind": e.kind, "at": e.created_at, "data": e.data}
                for e in queries.subscriber_events(session, subscriber_id)
            ],
        }
    return render(
        request,
        "admin/subscriber.html",
        {
            **context,
            "can_write": _is_admin(request),
            "flash": FLASH.get(done or ""),
            "section": "subscribers",
        },
    )


@admin_router.post("/add", dependencies=[Depends(csrf.verify)])
def subscriber_add(
    email: str = Form(), series: str = Form(), name: str = Form(""), confirmed: bool = Form(False)
) -> Response:
    with transaction() as session:
        result = service.add_subscriber(
            session, email, name, series, confirmed=confirmed, source="console"
        )
    return RedirectResponse(
        f"/admin/subscribers/{result.subscriber_id}?done=added", status_code=303
    )


@admin_router.post("/import", dependencies=[Depends(csrf.verify)])
async def subscriber_import(
    request: Request,
    file: UploadFile = File(),  # noqa: B008  (FastAPI's way of declaring an upload)
    series: str = Form(),
    confirmed: bool = Form(False),
) -> Response:
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise UserError(
            "the file is too large for the console; use `newsletter subscribers import`"
        )
    label = "the file"
    rows, bad = parse_rows(decode(data, label), label)
    with transaction() as session:
        report = import_rows(session, rows, bad, series, confirmed)
    return render(
        request,
        "admin/subscribers_import.html",
        {"report": report, "series": series, "confirmed": confirmed, "section": "subscribers"},
        status_code=200,
    )


@admin_router.post("/{subscriber_id}/unsubscribe", dependencies=[Depends(csrf.verify)])
def subscriber_unsubscribe(subscriber_id: IdPath, series: str = Form("")) -> Response:
    """One series (its slug) or, with an empty `series`, every series."""
    with transaction() as session:
        series_id = queries.series_ref(session, series).id if series else None
        service.unsubscribe_subscriber(session, subscriber_id, series_id, via="console")
    return RedirectResponse(
        f"/admin/subscribers/{subscriber_id}?done=unsubscribed", status_code=303
    )


@admin_router.get("/{subscriber_id}/erase")
def subscriber_erase_confirm(request: Request, subscriber_id: IdPath) -> Response:
    """The confirm step: erasing cannot be undone, so it takes a second, deliberate press."""
    with transaction() as session:
        person = queries.present_subscriber(session, subscriber_id)
        if person is None:
            raise NotFound(f"no subscriber with id {subscriber_id}")
        email = person.email
    return render(
        request,
        "admin/subscriber_erase.html",
        {"subscriber_id": subscriber_id, "email": email, "section": "subscribers"},
    )


@admin_router.post("/{subscriber_id}/erase", dependencies=[Depends(csrf.verify)])
def subscriber_erase(subscriber_id: IdPath) -> Response:
    with transaction() as session:
        service.erase(session, subscriber_id)
    return RedirectResponse("/admin/subscribers?done=erased", status_code=303)
