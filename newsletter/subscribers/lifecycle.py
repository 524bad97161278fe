"""The subscriber lifecycle's vocabulary: what a change reports and which states are final.

Statuses: a Subscriber is pending → active → unsubscribed, or is suppressed as bounced /
complained; each Subscription (person × series) is pending → active ⇄ paused → unsubscribed
/ stopped / finished. Double opt-in is per series: joining a second series needs its own
confirmation even for an active address.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.core.db.models import SubscriberStatus

# Addresses that must never be mailed again, whatever a form or an operator says.
SUPPRESSED = (SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED)


@dataclass(frozen=True)
class ChangeResult:
    subscriber_id: int | None
    series_id: int | None
    changed: bool
