"""The global sending switch, kept in the AppState table so it survives restarts.

Pausing stops the tick from fanning out, advancing serial subscriptions and claiming
deliveries and one-off mail (the `mail` outbox), and makes workers hand claimed rows back
untouched (no attempt used). Nothing is lost: the rows stay pending and go out after
`resume`; the console's test send is refused meanwhile.

It holds every kind of mail, confirmations included, on purpose. An operator pauses when
something is wrong with what or how we send (a bad template, a broken DKIM key, a provider
or blocklist incident); a confirmation goes out through the same server, From and signing,
so letting it through would defeat the reason for the pause. The cost is a delay, not a
loss: a confirmation waits as a pending row, a repeat signup meanwhile adds no second one
(`lifecycle.confirmation_due`), and it goes out on resume.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.core.db.models import AppState, utcnow

PAUSE_KEY = "sending_paused"


def is_paused(session: Session) -> bool:
    """True when an operator has paused all sending (one primary-key lookup)."""
    value = session.execute(select(AppState.value).where(AppState.key == PAUSE_KEY)).scalar()
    return bool(value and value.get("paused"))


def set_paused(session: Session, paused: bool) -> None:
    """Switch global sending off (`True`) or back on (`False`)."""
    state = session.get(AppState, PAUSE_KEY)
    value = {"paused": paused, "changed_at": utcnow().isoformat()}
    if state is None:
        session.add(AppState(key=PAUSE_KEY, value=value))
    else:
        state.value = value
        state.updated_at = utcnow()
