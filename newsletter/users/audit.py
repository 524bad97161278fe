"""The staff audit trail: who did what in the console, through the API or the CLI.

Entries are ordinary rows of the `event` table (`core.events.record`) of one kind, `audit`,
so the trail shares the table's append-only life and needs no table of its own. Each says
who acted (user id and role, and how they proved it: a console session, an API token or
the CLI on the server), what they did (an action name and, for requests, the route
template), to what (ids and slugs only) and how it ended (ok, refused or error). Never an
address, a name, a password or a token: the trail is exported and read by people.

Reads (a page of entries, the actions seen) and the CSV/JSON export live here too: the
trail is this feature's, and the console, the API and the CLI all show the same rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, bindparam, select
from sqlalchemy.orm import Session

from newsletter.core.db import models
from newsletter.core.db.models import Event
from newsletter.core.events import record
from newsletter.subscribers.formats import safe_cell

KIND = "audit"
# Path parameters and facts under these names never enter the trail, whatever a route calls
# them: a token in a path is a credential, an email is personal data.
SECRET_KEYS = frozenset({"token", "password", "email", "name", "address", "secret"})
MAX_VALUE = 100  # characters kept of any one target value (a slug typed into a URL)


class Outcome:
    OK = "ok"
    REFUSED = "refused"  # the request was understood and said no (4xx)
    ERROR = "error"  # a bug or an outage (5xx)


class Auth:
    SESSION = "session"
    TOKEN = "token"
    CLI = "cli"
    PASSWORD = "password"  # a sign-in attempt, before there is a session


@dataclass(frozen=True)
class Actor:
    """Who acts. `credential_id` is the web_session or api_token row, so a leaked token's
    actions can be told from its owner's other ones."""

    user_id: int | None
    role: str
    auth: str
    credential_id: int | None = None

    @classmethod
    def cli(cls) -> Actor:
        """Someone with a shell on the server (and so with the database): no account."""
        return cls(None, "cli", Auth.CLI)

    @classmethod
    def anonymous(cls) -> Actor:
        """A sign-in attempt that failed: nobody proved who they are."""
        return cls(None, "anonymous", Auth.PASSWORD)


def outcome_of(status: int) -> str:
    if status >= 500:
        return Outcome.ERROR
    return Outcome.REFUSED if status >= 400 else Outcome.OK


def clean_target(values: Mapping[str, Any]) -> dict[str, Any]:
    """Ids and short strings only; secret-looking keys dropped."""
    kept: dict[str, Any] = {}
    for key, value in values.items():
        if key.lower() in SECRET_KEYS or value is None:
            continue
        kept[key] = value if isinstance(value, int | bool) else str(value)[:MAX_VALUE]
    return kept


def record_action(
    db: Session,
    actor: Actor,
    action: str,
    target: Mapping[str, Any] | None = None,
    outcome: str = Outcome.OK,
    **facts: Any,
) -> None:
    """Append one entry in the caller's transaction (so it commits with the change)."""
    record(
        db,
        KIND,
        occurred_at=models.utcnow(),  # looked up per call: the clock tests move
        action=action,
        actor_id=actor.user_id,
        actor_role=actor.role,
        auth=actor.auth,
        credential_id=actor.credential_id,
        target=clean_target(target or {}),
        outcome=outcome,
        **clean_target(facts),
    )


# -- reads --------------------------------------------------------------------------------


_FIELDS = frozenset(
    {"action", "actor_id", "actor_role", "auth", "credential_id", "target", "outcome"}
    | {"status", "route"}
)


@dataclass(frozen=True)
class Entry:
    id: int
    at: dt.datetime
    action: str
    actor_id: int | None
    actor_role: str
    auth: str
    credential_id: int | None
    target: dict[str, Any] = field(default_factory=dict)
    outcome: str = Outcome.OK
    status: int | None = None
    route: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # e.g. sessions_ended, locked

    @classmethod
    def from_event(cls, event: Event) -> Entry:
        data = event.data or {}
        return cls(
            id=event.id,
            at=event.created_at,
            action=str(data.get("action", "")),
            actor_id=data.get("actor_id"),
            actor_role=str(data.get("actor_role", "")),
            auth=str(data.get("auth", "")),
            credential_id=data.get("credential_id"),
            target=dict(data.get("target") or {}),
            outcome=str(data.get("outcome", "")),
            status=data.get("status"),
            route=data.get("route"),
            facts={k: v for k, v in data.items() if k not in _FIELDS},
        )


def naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    """The database's clock is naive UTC; an aware value is converted, a naive one is UTC."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Filter:
    actor_id: int | None = None
    action: str | None = None
    since: dt.datetime | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        where = [Event.kind == KIND]
        if self.actor_id is not None:
            # Bound as BIGINT: an id past 2**31 must match nothing, not overflow an INTEGER
            # cast on PostgreSQL (a 500 schemathesis found).
            actor = bindparam("actor_id", self.actor_id, type_=BigInteger)
            where.append(Event.data["actor_id"].as_integer() == actor)
        if self.action:
            where.append(Event.data["action"].as_string() == self.action)
        if self.since is not None:
            where.append(Event.created_at >= self.since)
        return where


def newest(
    session: Session, where: Filter, *, before_id: int | None = None, limit: int = 50
) -> list[Entry]:
    """A page of entries, newest first (the console); `before_id` pages back in time."""
    query = select(Event).where(*where.clauses())
    if before_id is not None:
        query = query.where(Event.id < before_id)
    rows = session.scalars(query.order_by(Event.id.desc()).limit(limit))
    return [Entry.from_event(row) for row in rows]


def oldest(session: Session, where: Filter, *, after_id: int = 0, limit: int = 100) -> list[Entry]:
    """A page of entries, oldest first (the API and exports): follow with `after_id`."""
    query = select(Event).where(*where.clauses(), Event.id > after_id)
    rows = session.scalars(query.order_by(Event.id).limit(limit))
    return [Entry.from_event(row) for row in rows]


def iter_all(session: Session, where: Filter, batch: int = 500) -> Iterable[Entry]:
    """Every matching entry, oldest first, read a page at a time."""
    after = 0
    while page := oldest(session, where, after_id=after, limit=batch):
        yield from page
        after = page[-1].id


def actions(session: Session) -> list[str]:
    """Every action name the trail holds (the console's filter)."""
    action = Event.data["action"].as_string()
    found = session.scalars(select(action).where(Event.kind == KIND).distinct())
    return sorted(a for a in found if a)


# -- export -------------------------------------------------------------------------------

COLUMNS = (
    "id",
    "at",
    "action",
    "actor_id",
    "actor_role",
    "auth",
    "credential_id",
    "target",
    "outcome",
    "status",
    "route",
    "facts",
)


def as_row(entry: Entry) -> dict[str, Any]:
    """One entry as plain JSON values; the time as RFC 3339 UTC."""
    row = asdict(entry)
    row["at"] = entry.at.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
    return row


def to_csv(entries: Iterable[Entry]) -> str:
    """CSV with formula cells neutralised (a slug typed into a URL could start with `=`)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        row = as_row(entry)
        for key in ("target", "facts"):
            row[key] = json.dumps(row[key], sort_keys=True) if row[key] else ""
        writer.writerow({key: safe_cell(value) for key, value in row.items()})
    return out.getvalue()


def to_json(entries: Iterable[Entry]) -> str:
    return json.dumps([as_row(e) for e in entries], ensure_ascii=False, indent=2) + "\n"
