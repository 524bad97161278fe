"""The studio's "new series" page: paste or upload a manuscript, shape the parse, schedule.

It works without JavaScript: the draft is a server-side row (`scheduling.drafts`), each
edit is a form POST that changes it and redirects back to the block it changed, and a
mistake re-renders the page (400) with the message beside the block or form it is about,
what was typed kept, and the focus there. A form's address opened by hand (a reload after
an error) leads back to the draft.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from newsletter.core.db.session import transaction
from newsletter.core.errors import NotFound, UserError
from newsletter.render import render_issue
from newsletter.scheduling import drafts
from newsletter.scheduling.cadence import common_zones
from newsletter.users.models import Role
from newsletter.web import csrf, preview
from newsletter.web.auth import console_router, session_user
from newsletter.web.templating import render

router = console_router("/admin/series/new", Role.EDITOR)
MAX_UPLOAD = 1_000_000
FORMS = ("block", "part", "create", "discard", "test")  # the draft's POST-only addresses


def _page(request: Request, draft_id: int | None, **extra: Any) -> Response:
    """The paste form (and your drafts), or one draft. `extra`: `error`, `error_at`
    ((part, block), ("part", n) or "settings"), `posted` (the text to keep), `manuscript`."""
    owner = session_user(request).id
    data = None
    with transaction() as session:
        if draft_id is not None:
            data = drafts.get_draft(session, draft_id, owner).data
        mine = drafts.list_drafts(session, owner) if draft_id is None else []
    if data is not None and not _exists(data, extra.get("error_at")):
        extra["error_at"] = None  # no such block or part: the message goes on top
    context = {
        "draft_id": draft_id,
        "data": data,
        "drafts": mine,
        "warnings": drafts.warnings_of(data) if data else [],
        "zones": common_zones(),
        "section": "series",
        **extra,
    }
    status = context.pop("status", 400) if extra.get("error") else 200
    return render(request, "admin/studio_new.html", context, status_code=status)


def _exists(data: dict[str, Any], at: object) -> bool:
    """Is `at` (see `_page`) a place on the draft's page?"""
    essays = data["essays"]
    if at == "settings":
        return True
    if isinstance(at, tuple) and len(at) == 2 and at[0] == "part":
        return isinstance(at[1], int) and 0 <= at[1] < len(essays)
    if isinstance(at, tuple) and len(at) == 2:
        part, block = at
        return 0 <= part < len(essays) and 0 <= block < len(essays[part]["blocks"])
    return False


@router.get("")
def new(request: Request) -> Response:
    return _page(request, None)


@router.post("", dependencies=[Depends(csrf.verify)])
async def start(
    request: Request, manuscript: str = Form(""), file: UploadFile | None = None
) -> Response:
    text = manuscript
    if file is not None and file.filename:
        raw = await file.read(MAX_UPLOAD + 1)
        try:
            text = raw[:MAX_UPLOAD].decode("utf-8")
        except UnicodeDecodeError:
            return _page(request, None, error="the file is not UTF-8 text", manuscript=manuscript)
    try:
        with transaction() as session:
            draft_id = drafts.start_draft(session, session_user(request).id, text).id
    except UserError as exc:  # the text stays in the box, to fix
        return _page(request, None, error=str(exc), manuscript=text)
    return RedirectResponse(f"/admin/series/new/{draft_id}", status_code=303)


@router.get("/{draft_id}")
def show(request: Request, draft_id: int) -> Response:
    return _page(request, draft_id)


@router.post("/{draft_id}/block", dependencies=[Depends(csrf.verify)])
def block(
    request: Request,
    draft_id: int,
    essay: int = Form(),
    index: int = Form(),
    action: str = Form(),
    text: str = Form(""),
    at: int = Form(0),
) -> Response:
    try:
        with transaction() as session:
            draft = drafts.open_draft(session, draft_id, session_user(request).id)
            drafts.edit_block(draft, essay, index, action, text, at)
    except UserError as exc:
        return _page(
            request,
            draft_id,
            error=str(exc),
            error_at=(essay, index),
            posted=text,
            status=exc.http_status,
        )
    anchor = (
        f"e{essay + 1}" if action == "title" else f"e{essay}b{max(index - (action == 'delete'), 0)}"
    )
    return RedirectResponse(f"/admin/series/new/{draft_id}#{anchor}", status_code=303)


@router.post("/{draft_id}/part", dependencies=[Depends(csrf.verify)])
def part(
    request: Request,
    draft_id: int,
    essay: int = Form(),
    action: str = Form(),
    title: str = Form(""),
) -> Response:
    try:
        with transaction() as session:
            draft = drafts.open_draft(session, draft_id, session_user(request).id)
            drafts.edit_part(draft, essay, action, title)
    except UserError as exc:
        return _page(
            request,
            draft_id,
            error=str(exc),
            error_at=("part", essay),
            posted=title,
            status=exc.http_status,
        )
    anchor = f"e{essay - 1 if action == 'join' else essay}"
    return RedirectResponse(f"/admin/series/new/{draft_id}#{anchor}", status_code=303)


@router.post("/{draft_id}/discard", dependencies=[Depends(csrf.verify)])
def discard(request: Request, draft_id: int) -> Response:
    with transaction() as session:
        drafts.discard_draft(session, drafts.get_draft(session, draft_id, session_user(request).id))
    return RedirectResponse("/admin/series/new", status_code=303)


@router.post("/{draft_id}/create", dependencies=[Depends(csrf.verify)])
async def create(request: Request, draft_id: int) -> Response:
    async with request.form() as form:  # closes any uploaded file's temporary file
        values = {k: v for k, v in form.items() if k in drafts.SETTINGS and isinstance(v, str)}
    owner = session_user(request).id
    with transaction() as session:
        drafts.set_settings(drafts.open_draft(session, draft_id, owner), values)
    try:
        with transaction() as session:
            slug = drafts.create_from_draft(
                session, drafts.open_draft(session, draft_id, owner)
            ).slug
    except UserError as exc:
        return _page(request, draft_id, error=str(exc), error_at="settings", status=exc.http_status)
    return RedirectResponse(f"/admin/series/{slug}?done=created", status_code=303)


def _draft_part(request: Request, draft_id: int, number: int) -> preview.PreviewPart:
    """Part `number` of the draft as a reader would get it (global sender)."""
    with transaction() as session:
        draft = drafts.get_draft(session, draft_id, session_user(request).id)
        parsed = drafts.draft_content(draft)
        serial = draft.data["settings"].get("mode") == "serial"
    if not 1 <= number <= len(parsed.essays):
        raise NotFound(f"the draft has no part {number} (parts 1-{len(parsed.essays)})")
    here = f"/admin/series/new/{draft_id}"
    return preview.PreviewPart(
        slug=parsed.slug,
        number=number,
        rendered=render_issue(parsed, number, serial=serial),
        values=preview.reader_values(parsed.slug, number, len(parsed.essays), serial),
        base=f"{here}/preview/{number}",
        back=(here, "← Back to the draft"),
        test_action=f"{here}/test",
    )


@router.get("/{draft_id}/preview/{number}")
def preview_page(
    request: Request, draft_id: int, number: int, scheme: str | None = None
) -> Response:
    context = preview.page_context(_draft_part(request, draft_id, number), scheme)
    return render(request, "admin/preview.html", context)


@router.get("/{draft_id}/preview/{number}/email.html")
def preview_email(
    request: Request, draft_id: int, number: int, scheme: str | None = None
) -> Response:
    part = _draft_part(request, draft_id, number)
    html, _ = part.rendered.personalise(part.values)
    return preview.email_response(html, preview.scheme_of(scheme))


@router.post("/{draft_id}/test", dependencies=[Depends(csrf.verify)])
async def send_test(
    request: Request,
    draft_id: int,
    number: int = Form(),
    email: str = Form(),
    next: str | None = Form(None),
) -> Response:
    """A test of one draft part, before the series exists; a refusal shows on its preview."""
    part = await run_in_threadpool(_draft_part, request, draft_id, number)
    return await preview.send_test(request, part, email, next, f"/admin/series/new/{draft_id}")


@router.get("/{draft_id}/{form}")
def back_to_draft(draft_id: int, form: str) -> Response:
    """A form's address opened by hand (a reload after an error): the draft it is on."""
    if form not in FORMS:
        raise NotFound("There is nothing at this address.")
    return RedirectResponse(f"/admin/series/new/{draft_id}", status_code=303)
