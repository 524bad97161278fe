"""/api/v1 for editors: series, their parts and each part's delivery counts."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Path

from newsletter.content import parse_manuscript
from newsletter.core.db.session import transaction
from newsletter.delivery.queries import series_progress
from newsletter.scheduling import queries
from newsletter.scheduling.editing import edit_essay
from newsletter.scheduling.growth import add_part, parse_part
from newsletter.scheduling.queries import ScheduleView
from newsletter.scheduling.series import create_series, get_series
from newsletter.web.api import models as m
from newsletter.web.api.params import BODY_ERRORS, IssueId, Slug, editor_router, not_found

router = editor_router()


def _issues(view: ScheduleView) -> list[m.IssueOut]:
    return [
        m.IssueOut(
            id=part.issue_id,
            series=view.slug,
            number=part.part,
            title=part.title,
            status=part.status,
            scheduled_at=part.scheduled_at,
            deliveries=part.deliveries,
        )
        for part in view.parts
    ]


@router.get("/series", response_model=list[m.SeriesOut])
def list_series() -> list[m.SeriesOut]:
    with transaction() as session:
        return [m.SeriesOut.model_validate(row) for row in queries.all_series(session)]


@router.get("/series/{slug}", response_model=m.SeriesDetail, responses=not_found("no such series"))
def show_series(slug: Slug) -> m.SeriesDetail:
    with transaction() as session:
        series = get_series(session, slug)
        view = series_progress(session, slug)
        return m.SeriesDetail(
            **m.SeriesOut.model_validate(series).model_dump(),
            subscriptions=view.subscriptions,
            issues=_issues(view),
        )


@router.post(
    "/series",
    response_model=m.SeriesOut,
    status_code=201,
    responses={**BODY_ERRORS, 409: m.error("a series with that slug exists")},
)
def create(body: m.SeriesIn) -> m.SeriesOut:
    """Schedule a series from a manuscript, with its first-part and late-joiner policies."""
    content_series = parse_manuscript(
        body.manuscript, slug=body.slug, title=body.title, source="manuscript"
    )
    if body.description is not None:
        content_series = replace(content_series, description=body.description.strip())
    start = body.start.replace(tzinfo=None) if body.start.tzinfo is None else body.start
    with transaction() as session:
        series = create_series(
            session,
            body.slug,
            content_series,
            body.cadence,
            start,
            body.timezone,
            body.mode,
            first_part=body.first_part,
            late_joiners=body.late_joiners,
        )
        return m.SeriesOut.model_validate(series)


@router.put(
    "/series/{slug}/essays/{number}",
    response_model=m.EssayOut,
    responses={
        **BODY_ERRORS,
        **not_found("no such series or part"),
        409: m.error("the part was sent: it stays as readers got it"),
    },
)
def edit(slug: Slug, number: Annotated[int, Path(ge=1, le=100_000)], body: m.EssayIn) -> m.EssayOut:
    """Edit an unsent part's title and blocks; a part any reader got answers 409."""
    # Neither given (`{"title": null}`) changes nothing and answers the part as it is.
    blocks = None if body.blocks is None else [b.model_dump() for b in body.blocks]
    with transaction() as session:
        essay = edit_essay(session, slug, number, title=body.title, blocks=blocks)
        return m.EssayOut(series=slug, number=number, title=essay.title, blocks=essay.blocks)


@router.post(
    "/series/{slug}/parts",
    response_model=m.IssueOut,
    status_code=201,
    responses={**BODY_ERRORS, **not_found("no such series")},
)
def add(slug: Slug, body: m.PartIn) -> m.IssueOut:
    """Append one essay as the next part (finished readers get it at their next slot)."""
    with transaction() as session:
        essay = parse_part(body.text, 0, markdown=body.format == "markdown", source="part")
        number = add_part(session, slug, essay).number
        view = series_progress(session, slug)
        return next(i for i in _issues(view) if i.number == number)


@router.get(
    "/series/{slug}/issues", response_model=list[m.IssueOut], responses=not_found("no such series")
)
def series_issues(slug: Slug) -> list[m.IssueOut]:
    with transaction() as session:
        return _issues(series_progress(session, slug))


@router.get("/issues/{issue_id}", response_model=m.IssueOut, responses=not_found("no such issue"))
def show_issue(issue_id: IssueId) -> m.IssueOut:
    with transaction() as session:
        view = series_progress(session, queries.slug_of_issue(session, issue_id))
        return next(i for i in _issues(view) if i.id == issue_id)
