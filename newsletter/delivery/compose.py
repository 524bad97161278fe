"""Turn one claimed delivery into the bytes that go over SMTP.

The issue is rendered (MJML compiled) once per worker process and kept: the essay snapshot
behind an issue id never changes once scheduled, so the cache can never serve stale content.
Per message only the cheap part runs: personalise, build headers, serialise.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from newsletter.delivery.identity import Identity
from newsletter.mail.message import build_message, to_bytes
from newsletter.render import RenderedIssue, render_issue
from newsletter.scheduling.series import series_content

_RENDERED: dict[int, RenderedIssue] = {}
_MAX_CACHED = 32


@dataclass(frozen=True)
class Recipient:
    """Everything the send loop needs about one claimed delivery (no ORM objects)."""

    delivery_id: int
    subscriber_id: int
    email: str
    name: str
    issue_id: int
    series_id: int
    series_slug: str
    series_title: str
    number: int
    message_id: str


def rendered_issue(session: Session, issue_id: int, series_id: int, number: int) -> RenderedIssue:
    """The compiled issue, from this process's cache or rendered from the DB snapshot."""
    cached = _RENDERED.get(issue_id)
    if cached is None:
        if len(_RENDERED) >= _MAX_CACHED:
            _RENDERED.pop(next(iter(_RENDERED)))
        cached = _RENDERED[issue_id] = render_issue(series_content(session, series_id), number)
    return cached


def compose(identity: Identity, issue: RenderedIssue, to: Recipient) -> bytes:
    """The signed (when DKIM is configured) wire bytes of one personalised message."""
    links = identity.links(to.subscriber_id, to.series_id, to.series_slug, to.number)
    html, text = issue.personalise({"name": to.name, "email": to.email, **links})
    message = build_message(
        sender=identity.sender,
        to_addr=to.email,
        to_name=to.name,
        subject=issue.subject,
        html=html,
        text=text,
        message_id=to.message_id,
        list_id=identity.list_id(to.series_slug, to.series_title),
        unsubscribe_url=links["unsubscribe_url"],
        unsubscribe_mailto=identity.unsubscribe_mailto,
    )
    return to_bytes(message)
