"""Turn one claimed delivery into the bytes that go over SMTP.

The issue is rendered (MJML compiled) once per worker process and kept: the essay snapshot
behind an issue id never changes once scheduled, so the cache can never serve stale content.
Per message only the cheap part runs: personalise, build headers, serialise.
"""

from __future__ import annotations

import binascii
import datetime as dt
import html
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.core.db.models import Series
from newsletter.core.tokens import make_token
from newsletter.delivery.identity import Identity
from newsletter.mail.message import Encoded, QPTemplate, build_message, to_bytes
from newsletter.render import RenderedIssue
from newsletter.render.personalise import slot_values
from newsletter.scheduling.sender import render_part
from newsletter.scheduling.slots import progress_line

log = logging.getLogger(__name__)

_RENDERED: dict[tuple[int, int], RenderedIssue] = {}
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
    # Serial mode: the reader's controls and progress line in the footer.
    serial: bool = False
    next_part: int | None = None
    next_due_at: dt.datetime | None = None
    zone: str = "UTC"
    finished: bool = False


def rendered_issue(session: Session, issue_id: int, series_id: int, number: int) -> RenderedIssue:
    """The compiled issue, from this process's cache or rendered from the DB snapshot.

    The cache is keyed on the series' revision (one small read per batch), which every
    edit of an unsent part or of the sender bumps: an edited part is never sent stale.
    A serial series' issues carry the reader's controls and progress line in the footer.
    """
    revision = session.scalar(select(Series.revision).where(Series.id == series_id)) or 0
    key = (issue_id, revision)
    cached = _RENDERED.get(key)
    if cached is None:
        if len(_RENDERED) >= _MAX_CACHED:
            _RENDERED.pop(next(iter(_RENDERED)))
        cached = _RENDERED[key] = render_part(session, session.get_one(Series, series_id), number)
    return cached


def serial_values(identity: Identity, to: Recipient, total: int) -> dict[str, str]:
    """The serial footer's values for one reader: progress line and control links."""
    next_token = make_token("next", to.subscriber_id, to.series_id)
    pause_token = make_token("pause", to.subscriber_id, to.series_id)
    following = None if to.finished else to.next_part
    return {
        "progress": progress_line(to.number, total, following, to.next_due_at, to.zone),
        "next_url": f"{identity.base_url}/next/{next_token}",
        "pause_url": f"{identity.base_url}/pause/{pause_token}",
    }


@dataclass(frozen=True)
class _Encoder:
    """An issue's HTML and text parts quoted-printable encoded once (see `QPTemplate`)."""

    html: QPTemplate
    text: QPTemplate

    def bodies(self, values: dict[str, str]) -> tuple[Encoded, Encoded]:
        filled = slot_values(values)
        return self.html.fill(filled), self.text.fill(filled)


# id(issue) → (issue, its encoder); holding the issue keeps the id from being reused.
_ENCODERS: dict[int, tuple[RenderedIssue, _Encoder | None]] = {}
# Values with everything HTML escaping and quoted-printable treat specially.
_PROBE = {
    "name": 'Zoë "<b>&amp;</b>" O\'Brien =?x?= ',
    "email": "zoë+tag@exämple.org",
    "unsubscribe_url": "https://example.org/unsubscribe/a.b-c_d?x=1&y=2" + "z" * 90,
    "manage_url": "https://example.org/manage/\tq=",
    "web_url": "https://example.org/archive/s/1#=3D",
    "progress": "Part 2 of 4 · part 3 arrives Tue 1 Dec, 09:00 <&> =",
    "next_url": "https://example.org/next/a.b-c_d=",
    "pause_url": "https://example.org/pause/a.b-c_d=",
}


def _encoder(issue: RenderedIssue) -> _Encoder | None:
    """The issue's pre-encoded bodies, or None to personalise and encode per message.

    Checked once against `RenderedIssue.personalise` itself: if the decoded template output
    differs in any byte (say the renderer escapes values differently one day), the issue is
    sent through the ordinary path instead.
    """
    key = id(issue)
    cached = _ENCODERS.get(key)
    if cached is not None and cached[0] is issue:
        return cached[1]
    encoder: _Encoder | None = None
    try:
        encoder = _Encoder(
            QPTemplate(
                issue.html_template.segments,
                issue.html_template.slots,
                lambda value: html.escape(value, quote=True),
            ),
            QPTemplate(issue.text_template.segments, issue.text_template.slots),
        )
        expected = issue.personalise(_PROBE)
        got = encoder.bodies(dict(_PROBE))
        for body, part in zip(expected, got, strict=True):
            if binascii.a2b_qp(part.qp) != body.replace("\r\n", "\n").encode("utf-8"):
                raise ValueError("pre-encoded body differs from personalise()")
    except (ValueError, KeyError, AttributeError) as exc:
        log.warning("issue %s: bodies encoded per message (%s)", issue.number, exc)
        encoder = None
    if len(_ENCODERS) >= _MAX_CACHED:
        _ENCODERS.pop(next(iter(_ENCODERS)))
    _ENCODERS[key] = (issue, encoder)
    return encoder


def compose(identity: Identity, issue: RenderedIssue, to: Recipient) -> bytes:
    """The signed (when DKIM is configured) wire bytes of one personalised message."""
    links = identity.links(to.subscriber_id, to.series_id, to.series_slug, to.number)
    values = {"name": to.name, "email": to.email, **links}
    if to.serial:
        values.update(serial_values(identity, to, issue.total))
    encoder = _encoder(issue)
    html_body: str | Encoded
    text_body: str | Encoded
    if encoder is not None:
        html_body, text_body = encoder.bodies(values)
    else:
        html_body, text_body = issue.personalise(values)
    message = build_message(
        sender=issue.sender or identity.sender,
        to_addr=to.email,
        to_name=to.name,
        subject=issue.subject,
        html=html_body,
        text=text_body,
        message_id=to.message_id,
        list_id=identity.list_id(to.series_slug, to.series_title),
        unsubscribe_url=links["unsubscribe_url"],
        unsubscribe_mailto=identity.unsubscribe_mailto_for(to.subscriber_id, to.series_id),
        extra_headers={"Reply-To": issue.reply_to} if issue.reply_to else None,
    )
    return to_bytes(message)
