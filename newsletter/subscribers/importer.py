"""CSV import: validate every row in Python, then bulk-insert in chunks in ONE transaction.

Validation first means a bad row never costs a database round trip and is reported with its
line number and reason while the good rows are kept. The inserts run in chunks inside the
caller's transaction, so a database error (or Ctrl-C) rolls the whole import back: an import
either happened or it did not.

Without `confirmed`, imported people are pending and each gets a confirmation mail: a row in
the `mail` outbox, inserted with the people in the same transaction (so an import either
queued its mails or did not happen), and workers are woken after commit in batches. If the
broker is down the wake-ups stop at the first failure and the tick sends the rows instead.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from newsletter.core.db import models
from newsletter.core.db.models import Subscriber, Subscription
from newsletter.core.db.session import after_commit
from newsletter.core.errors import UserError
from newsletter.core.events import event_row, record_many
from newsletter.subscribers import confirmation, lifecycle, tasks
from newsletter.subscribers.addresses import clean_name, normalise_email
from newsletter.subscribers.lifecycle import IMPORT, Join
from newsletter.subscribers.queries import series_ref

log = logging.getLogger(__name__)

CHUNK = 1000
WAKE_BATCH = 20  # outbox rows per wake-up message after the import commits
Progress = Callable[[int], object]


@dataclass(frozen=True)
class Row:
    line: int
    email: str
    key: str
    name: str


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


@dataclass
class ImportReport:
    series_id: int
    imported: int = 0
    bad: list[BadRow] = field(default_factory=list)
    pending_ids: list[int] = field(default_factory=list)
    mail_ids: list[int] = field(default_factory=list)  # the confirmations' outbox rows

    @property
    def mails_queued(self) -> int:
        return len(self.mail_ids)


def decode(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{label} is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"
        ) from exc


def _records(text: str, label: str) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, cells) per CSV record, blank lines included as []."""
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 1
    try:
        for cells in reader:
            yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise UserError(f"{label}: line {reader.line_num}: unreadable CSV ({exc})") from exc


def parse_rows(text: str, label: str = "file") -> tuple[list[Row], list[BadRow]]:
    """Validate a CSV (`email,name`; header row required unless the first row is data)."""
    good: list[Row] = []
    bad: list[BadRow] = []
    seen: dict[str, int] = {}
    columns: tuple[int, int | None] | None = None
    for line, cells in _records(text, label):
        if not any(cell.strip() for cell in cells):
            bad.append(BadRow(line, "empty line"))
            continue
        if columns is None:
            columns = _columns(cells, label)
            if columns is not None:
                continue  # that was the header
            columns = (0, 1)
        row = _row(line, cells, columns, seen)
        if isinstance(row, BadRow):
            bad.append(row)
        else:
            seen[row.key] = line
            good.append(row)
    if columns is None:
        raise UserError(f"{label} has no rows")
    return good, bad


def _columns(cells: list[str], label: str) -> tuple[int, int | None] | None:
    """Column positions from a header row, or None when the first row is already data."""
    names = [cell.strip().lower() for cell in cells]
    if "email" in names:
        return names.index("email"), (names.index("name") if "name" in names else None)
    if "@" in cells[0]:
        return None
    raise UserError(f"{label}: line 1 must be a header with an `email` column (email,name)")


def _row(
    line: int, cells: list[str], columns: tuple[int, int | None], seen: dict[str, int]
) -> Row | BadRow:
    email_at, name_at = columns
    if email_at >= len(cells):
        return BadRow(line, "no email column")
    raw_name = cells[name_at] if name_at is not None and name_at < len(cells) else ""
    if not _encodable(cells[email_at]) or not _encodable(raw_name):
        return BadRow(line, "not valid UTF-8 text (a lone surrogate)")
    try:
        address = normalise_email(cells[email_at])
        name = clean_name(raw_name)
    except UserError as exc:
        return BadRow(line, str(exc))
    if address.key in seen:
        return BadRow(line, f"duplicate of line {seen[address.key]}")
    return Row(line, address.email, address.key, name)


def _encodable(text: str) -> bool:
    """False for text holding a lone surrogate, which no database can store. Decoded bytes
    never do, but `parse_rows` takes text, and the fuzzer found such a name accepted and then
    failing the INSERT (UnicodeEncodeError) instead of being a bad row."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _chunks(rows: list, size: int) -> Iterator[list]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _drop_existing(session: Session, rows: list[Row], bad: list[BadRow]) -> list[Row]:
    existing: set[str] = set()
    for chunk in _chunks(rows, 500):
        keys = [row.key for row in chunk]
        existing.update(
            session.scalars(select(Subscriber.email_key).where(Subscriber.email_key.in_(keys)))
        )
    for row in rows:
        if row.key in existing:
            bad.append(BadRow(row.line, "already in the database"))
    return [row for row in rows if row.key not in existing]


def import_rows(
    session: Session,
    rows: list[Row],
    bad: list[BadRow],
    series_slug: str,
    confirmed: bool = False,
    progress: Progress | None = None,
    mail_progress: Progress | None = None,
) -> ImportReport:
    """Insert validated rows for `series_slug`; rows already in the database become bad rows.

    An import only ever creates people (someone known is left to the lifecycle of their
    own signups), so every row is `lifecycle.join` for a new address.
    """
    series = series_ref(session, series_slug)
    series.check_joinable()
    report = ImportReport(series_id=series.id, bad=bad)
    rows = _drop_existing(session, rows, bad)
    bad.sort(key=lambda b: b.line)
    now = models.utcnow()
    for chunk in _chunks(rows, CHUNK):
        joins = [
            lifecycle.join(Join(IMPORT, confirmed, row.name), series.schedule, now) for row in chunk
        ]
        ids = session.scalars(
            insert(Subscriber).returning(Subscriber.id, sort_by_parameter_order=True),
            [
                {"email": row.email, "email_key": row.key, **join.subscriber}
                for row, join in zip(chunk, joins, strict=True)
            ],
        ).all()
        subscriptions: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for subscriber_id, join in zip(ids, joins, strict=True):
            subscriptions.append(
                {
                    "subscriber_id": subscriber_id,
                    "series_id": series.id,
                    "created_at": now,
                    **(join.subscription or {}),
                }
            )
            if join.event is not None:
                kind, data = join.event
                events.append(event_row(kind, subscriber_id, series.id, occurred_at=now, **data))
        session.execute(insert(Subscription), subscriptions)
        record_many(session, events)
        mailed = [i for i, join in zip(ids, joins, strict=True) if join.mail]
        report.pending_ids.extend(mailed)
        report.mail_ids.extend(confirmation.queue_many(session, mailed, series.id, now))
        report.imported += len(ids)
        if progress:
            progress(len(chunk))
    if report.mail_ids:
        after_commit(session, lambda: wake_senders(report.mail_ids, mail_progress))
    return report


def wake_senders(mail_ids: list[int], progress: Progress | None = None) -> bool:
    """After commit: wake workers for the confirmations, a batch per message.

    The rows are committed already, so a broker that is down loses nothing: stop at the
    first failed wake-up (no point in trying thousands) and leave the rest to the tick.
    """
    for chunk in _chunks(mail_ids, WAKE_BATCH):
        if not tasks.wake(chunk):
            log.warning("%s confirmations left for the tick to send", len(mail_ids))
            return False
        if progress:
            progress(len(chunk))
    return True


def import_csv(
    session: Session,
    path: Path,
    series_slug: str,
    confirmed: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Read, validate and import `path`; see the module docstring for the guarantees."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from exc
    rows, bad = parse_rows(decode(data, str(path)), str(path))
    return import_rows(session, rows, bad, series_slug, confirmed, progress)
