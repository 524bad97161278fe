"""The console's "Edit series" screens: settings and sender, the parts' order, their text.

Plain form POSTs that redirect (303) with a flash, so the screens work with JavaScript off.
A mistake re-renders the screen with its one-line message and what was typed (status 400,
404 or 409 from the service's error), so nothing is lost. Every change goes through
`scheduling.editing` and `scheduling.parts`, which keep sent parts as sent.
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from newsletter.core.db.session import transaction
from newsletter.core.errors import UserError
from newsletter.core.settings import get_settings
from newsletter.scheduling import editing, parts
from newsletter.scheduling.shaping import split_at_blank_lines
from newsletter.users.models import Role
from newsletter.web import csrf
from newsletter.web.auth import console_router
from newsletter.web.templating import render

router = console_router("/admin/series", Role.EDITOR)
BLOCK_KINDS = {"paragraph": "Paragraph", "pull_quote": "Pull quote"}
FLASH = {
    "saved": "Series settings saved.",
    "moved": "Part moved; the dates stay with the positions.",
    "removed": "Part removed; the later parts moved up.",
    "added": "Part added.",
    "part-saved": "Part saved. Readers get this text when it goes out.",
    "tested": "Test message sent.",
}
SENDER_LABELS = {
    "from_name": "From name",
    "from_address": "From address",
    "reply_to": "Reply-To address",
    "footer_text": "Footer text",
    "postal_address": "Postal address",
}


def sender_defaults() -> dict[str, str]:
    """The global value each blank sender field falls back to, shown as its placeholder
    so an editor sees what readers get without setting anything."""
    settings = get_settings()
    name, address = parseaddr(settings.from_)
    return {
        "from_name": name,
        "from_address": address,
        "reply_to": "no Reply-To (replies go to the From address)",
        "footer_text": "no footer text",
        "postal_address": settings.postal_address,
    }


def _edit_url(slug: str) -> str:
    return f"/admin/series/{slug}/edit"


def _part_url(slug: str, number: int) -> str:
    return f"/admin/series/{slug}/parts/{number}/edit"


def _series_page(
    request: Request,
    slug: str,
    *,
    error: UserError | None = None,
    typed: dict[str, str] | None = None,
    new_part: dict[str, str] | None = None,
    done: str | None = None,
) -> Response:
    """The edit screen; after a mistake, with its message and the typed values."""
    with transaction() as session:
        view = parts.edit_view(session, slug)
    values = {"title": view.title, "description": view.description, **view.sender}
    context: dict[str, Any] = {
        "view": view,
        "values": {**values, **(typed or {})},
        "test_parts": [(p.number, p.title) for p in view.parts],
        "new_part": new_part or {"title": "", "text": "", "position": ""},
        "labels": SENDER_LABELS,
        "defaults": sender_defaults(),
        "error": str(error) if error else None,
        "flash": FLASH.get(done or ""),
        "here": _edit_url(slug),
        "section": "series",
    }
    status = error.http_status if error else 200
    return render(request, "admin/series_edit.html", context, status_code=status)


def _part_page(
    request: Request,
    slug: str,
    number: int,
    *,
    error: UserError | None = None,
    typed: dict[str, Any] | None = None,
    done: str | None = None,
) -> Response:
    """A part's editor (read-only when sent); after a mistake, with what was typed."""
    with transaction() as session:
        view = parts.part_view(session, slug, number)
    blocks = [{**block, "removed": False} for block in view.blocks]
    values = {"title": view.title, "blocks": blocks, "new": {"type": "paragraph", "text": ""}}
    context: dict[str, Any] = {
        "view": view,
        "values": typed or values,
        "kinds": BLOCK_KINDS,
        "error": str(error) if error else None,
        "flash": FLASH.get(done or ""),
        "here": _part_url(slug, number),
        "section": "series",
    }
    status = error.http_status if error else 200
    return render(request, "admin/part_edit.html", context, status_code=status)


@router.get("/{slug}/edit")
def edit_series(request: Request, slug: str, done: str | None = None) -> Response:
    return _series_page(request, slug, done=done)


@router.post("/{slug}/edit", dependencies=[Depends(csrf.verify)])
def save_series(
    request: Request,
    slug: str,
    title: str = Form(""),
    description: str = Form(""),
    from_name: str = Form(""),
    from_address: str = Form(""),
    reply_to: str = Form(""),
    footer_text: str = Form(""),
    postal_address: str = Form(""),
) -> Response:
    typed = {
        "title": title,
        "description": description,
        "from_name": from_name,
        "from_address": from_address,
        "reply_to": reply_to,
        "footer_text": footer_text,
        "postal_address": postal_address,
    }
    try:
        with transaction() as session:
            editing.update_series(session, slug, typed)
    except UserError as exc:
        return _series_page(request, slug, error=exc, typed=typed)
    return RedirectResponse(f"{_edit_url(slug)}?done=saved", status_code=303)


@router.post("/{slug}/parts/{number}/move", dependencies=[Depends(csrf.verify)])
def move(request: Request, slug: str, number: int, to: int = Form()) -> Response:
    try:
        with transaction() as session:
            editing.move_part(session, slug, number, to)
    except UserError as exc:
        return _series_page(request, slug, error=exc)
    return RedirectResponse(f"{_edit_url(slug)}?done=moved#parts", status_code=303)


@router.post("/{slug}/parts/{number}/remove", dependencies=[Depends(csrf.verify)])
def remove(request: Request, slug: str, number: int) -> Response:
    try:
        with transaction() as session:
            editing.remove_part(session, slug, number)
    except UserError as exc:
        return _series_page(request, slug, error=exc)
    return RedirectResponse(f"{_edit_url(slug)}?done=removed#parts", status_code=303)


@router.post("/{slug}/parts/add", dependencies=[Depends(csrf.verify)])
def add(
    request: Request,
    slug: str,
    title: str = Form(""),
    text: str = Form(""),
    position: str = Form(""),
) -> Response:
    typed = {"title": title, "text": text, "position": position}
    try:
        at = _position(position)
        with transaction() as session:
            parts.add_part(session, slug, title, parts.blocks_from_text(text), at)
    except UserError as exc:
        return _series_page(request, slug, error=exc, new_part=typed)
    return RedirectResponse(f"{_edit_url(slug)}?done=added#parts", status_code=303)


def _position(text: str) -> int | None:
    """The add form's position: blank means last."""
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise UserError("the position must be a part number, or blank for last")
    return int(text)


@router.get("/{slug}/parts/{number}/edit")
def edit_part(request: Request, slug: str, number: int, done: str | None = None) -> Response:
    return _part_page(request, slug, number, done=done)


@router.post("/{slug}/parts/{number}/edit", dependencies=[Depends(csrf.verify)])
def save_part(
    request: Request,
    slug: str,
    number: int,
    title: str = Form(""),
    text: list[str] = Form([]),  # noqa: B008 (FastAPI reads form lists this way)
    kind: list[str] = Form([]),  # noqa: B008
    remove: list[str] = Form([]),  # noqa: B008
) -> Response:
    blocks = [
        {"type": k, "text": t, "removed": str(i) in remove}
        for i, (t, k) in enumerate(zip(text, kind, strict=False))
    ]
    new = blocks.pop() if blocks else {"type": "paragraph", "text": "", "removed": False}
    typed = {"title": title, "blocks": blocks, "new": new}
    try:
        if len(text) != len(kind) or not text:
            raise UserError("the form came incomplete: every block needs its text and its kind")
        with transaction() as session:
            editing.edit_essay(session, slug, number, title=title, blocks=_kept(blocks, new))
    except UserError as exc:
        return _part_page(request, slug, number, error=exc, typed=typed)
    return RedirectResponse(f"{_part_url(slug, number)}?done=part-saved", status_code=303)


def _kept(blocks: list[dict[str, Any]], new: dict[str, Any]) -> list[dict[str, str]]:
    """The blocks to store: those not ticked for removal, and the new one if it has text.
    An emptied block is a mistake (it names the block), not a silent removal."""
    kept = []
    for index, block in enumerate(blocks, start=1):
        if block["removed"]:
            continue
        pieces = split_at_blank_lines(str(block["text"]))
        if not pieces:
            raise UserError(f"block {index} is empty: write its text or tick remove")
        kept.extend(_typed(block["type"], pieces))
    if not new.get("removed"):
        kept.extend(_typed(new["type"], split_at_blank_lines(str(new["text"]))))
    return kept


def _typed(kind: str, pieces: list[str]) -> list[dict[str, str]]:
    """A block's pieces (a blank line typed into it splits it): the first keeps its kind,
    the rest are paragraphs, as in the studio."""
    return [{"type": kind if i == 0 else "paragraph", "text": t} for i, t in enumerate(pieces)]
