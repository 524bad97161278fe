"""The delivery ledger as tests read it: the rows, counts per status, and waiting until
a worker process has settled."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.core.db.models import Delivery, DeliveryStatus
from newsletter.core.db.session import transaction


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(every)


def deliveries(session: Session) -> list[Delivery]:
    return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def ledger() -> Counter[str]:
    """Delivery rows per status."""
    with transaction() as session:
        rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return Counter(dict(rows.all()))


def settled() -> bool:
    """No row is claimed (queued or sending): the worker has nothing in hand."""
    counts = ledger()
    return counts[DeliveryStatus.QUEUED] + counts[DeliveryStatus.SENDING] == 0


def all_final(total: int) -> Callable[[], bool]:
    def check() -> bool:
        counts = ledger()
        return sum(counts[s] for s in DeliveryStatus.FINAL) == total

    return check
