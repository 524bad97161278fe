"""The studio's "new series" page: paste or upload a manuscript, shape the parse, schedule.

It works without JavaScript: the draft is a server-side row (`scheduling.drafts`), each
edit is a form POST that changes it and redirects back, and a mistake re-renders the page
with its message and nothing lost.
"""

from __future__ import annotations

from fastapi import Depends, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from newsletter.core.db.session import transaction
from newsletter.core.errors import NotFound, UserError
from newsletter.delivery import testsend
from newsletter.render import RenderedIssue, render_issue, sample_values
from newsletter.scheduling import drafts
from newsletter.users.models import Role
from newsletter.web import csrf, preview
from newsletter.web.auth import console_router, session_user
from newsletter.web.templating import render

router = console_router("/admin/series/new", Role.EDITOR)
MAX_UPLOAD = 1_000_000


def _page(request: Request, draft_id: int | None, error: str | None = None) -> Response:
    data = None
    if draft_id is not None:
        with transaction() as session:
            data = drafts.get_draft(session, draft_id, session_user(request).id).data
    context = {
        "draft_id": draft_id,
        "data": data,
        "warnings": drafts.warnings_of(data) if data else [],
        "error": error,
        "section": "series",
    }
    return render(request, "admin/studio_new.html", context, status_code=400 if error else 200)


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
            return _page(request, None, "the file is not UTF-8 text")
    try:
        with transaction() as session:
            draft_id = drafts.start_draft(session, session_user(request).id, text).id
    except UserError as exc:
        return _page(request, None, str(exc))
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
            draft = drafts.get_draft(session, draft_id, session_user(request).id)
            drafts.edit_block(draft, essay, index, action, text, at)
    except UserError as exc:
        return _page(request, draft_id, str(exc))
    return RedirectResponse(f"/admin/series/new/{draft_id}#e{essay}b{index}", status_code=303)


@router.post("/{draft_id}/create", dependencies=[Depends(csrf.verify)])
async def create(request: Request, draft_id: int) -> Response:
    async with request.form() as form:  # closes any uploaded file's temporary file
        values = {k: v for k, v in form.items() if k in drafts.SETTINGS and isinstance(v, str)}
    with transaction() as session:
        drafts.set_settings(drafts.get_draft(session, draft_id, session_user(request).id), values)
    try:
        with transaction() as session:
            draft = drafts.get_draft(session, draft_id, session_user(request).id)
            slug = drafts.create_from_draft(session, draft).slug
    except UserError as exc:
        return _page(request, draft_id, str(exc))
    return RedirectResponse(f"/admin/series/{slug}", status_code=303)


def _draft_part(request: Request, draft_id: int, number: int) -> tuple[str, RenderedIssue]:
    """Part `number` of the draft rendered as a reader would get it (global sender)."""
    with transaction() as session:
        parsed = drafts.draft_content(drafts.get_draft(session, draft_id, session_user(request).id))
    if not 1 <= number <= len(parsed.essays):
        raise NotFound(f"the draft has no part {number} (parts 1-{len(parsed.essays)})")
    return parsed.slug, render_issue(parsed, number, serial=False)


@router.get("/{draft_id}/preview/{number}")
def preview_page(
    request: Request, draft_id: int, number: int, scheme: str | None = None
) -> Response:
    slug, rendered = _draft_part(request, draft_id, number)
    _, text = rendered.personalise(sample_values(slug, number))
    base = f"/admin/series/new/{draft_id}/preview/{number}"
    context = {
        "back": (f"/admin/series/new/{draft_id}", "← Back to the draft"),
        "edit": None,
        "src": f"{base}/email.html",
        "page": base,
        "test_action": f"/admin/series/new/{draft_id}/test",
        "scheme": preview.scheme_of(scheme),
        "number": number,
        "issue": rendered,
        "text": text,
        "section": "series",
    }
    return render(request, "admin/preview.html", context)


@router.get("/{draft_id}/preview/{number}/email.html")
def preview_email(
    request: Request, draft_id: int, number: int, scheme: str | None = None
) -> Response:
    slug, rendered = _draft_part(request, draft_id, number)
    html, _ = rendered.personalise(sample_values(slug, number))
    return preview.email_response(html, preview.scheme_of(scheme))


@router.post("/{draft_id}/test", dependencies=[Depends(csrf.verify)])
async def send_test(
    request: Request,
    draft_id: int,
    number: int = Form(),
    email: str = Form(),
    next: str | None = Form(None),
) -> Response:
    """A test of one draft part, before the series exists."""
    slug, rendered = await run_in_threadpool(_draft_part, request, draft_id, number)
    await run_in_threadpool(testsend.send_test, rendered, slug, number, email)
    here = f"/admin/series/new/{draft_id}"
    back = preview.safe_next(next, f"{here}/", here)
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}done=tested", status_code=303)
