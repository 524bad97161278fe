"""The public archive: the web version of parts already sent, and an Atom feed per series.

Essays are rendered from the stored snapshot into a plain web page (not the email HTML),
so the archive reads well in a browser and with a screen reader. Unpublished parts answer
404 exactly like unknown ones.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response

from newsletter.core.db.models import Essay, utcnow
from newsletter.core.db.session import transaction
from newsletter.core.settings import get_settings
from newsletter.scheduling import queries
from newsletter.web.templating import get_environment, render

router = APIRouter(include_in_schema=False)


@router.get("/archive/{slug}")
def archive(request: Request, slug: str) -> Response:
    with transaction() as session:
        series = queries.series_by_slug(session, slug)
        parts = [p for p in queries.parts(session, series) if p.published]
    return render(request, "archive.html", {"series": series, "parts": parts})


@router.get("/archive/{slug}/feed.atom")
def feed(slug: str) -> Response:
    with transaction() as session:
        series = queries.series_by_slug(session, slug)
        entries = []
        for part in queries.parts(session, series):
            if part.published:
                _, essay = queries.published_essay(session, series, part.number)
                entries.append({"part": part, "essay": essay, "html": essay_html(essay)})
    base = get_settings().base_url.rstrip("/")
    updated = max(
        (e["part"].published_at for e in entries if e["part"].published_at),
        default=series.created_at,
    )
    xml = (
        get_environment()
        .get_template("feed.atom")
        .render(series=series, entries=entries, base_url=base, updated=updated or utcnow())
    )
    return Response(xml, media_type="application/atom+xml; charset=utf-8")


@router.get("/archive/{slug}/{number}")
def archived_part(request: Request, slug: str, number: int) -> Response:
    with transaction() as session:
        series = queries.series_by_slug(session, slug)
        issue, essay = queries.published_essay(session, series, number)
        published = [p.number for p in queries.parts(session, series) if p.published]
    return render(
        request,
        "archive_part.html",
        {
            "series": series,
            "essay": essay,
            "number": issue.number,
            "published_at": issue.fanned_out_at or issue.scheduled_at,
            "previous": number - 1 if number - 1 in published else None,
            "next": number + 1 if number + 1 in published else None,
        },
    )


def essay_html(essay: Essay) -> str:
    """The essay as an HTML fragment for the feed (the template escapes it once more)."""
    parts = []
    for block in essay.blocks:
        tag = "blockquote" if block.get("type") == "pull_quote" else "p"
        parts.append(f"<{tag}>{escape(block.get('text', ''))}</{tag}>")
    return "".join(parts)
