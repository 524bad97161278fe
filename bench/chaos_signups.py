"""The chaos bench's "broker down during signups" round (see bench/chaos.py).

With the broker stopped, N people sign up through the real web app (in process). Every
answer must be the same 200 page; each confirmation is a row in the `mail` outbox, and once
the broker is back the tick publishes them without anyone acting. Lost = confirmations that
never arrive, duplicated = extra ones; recovery = broker back → last confirmation in.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from fastapi.testclient import TestClient

from newsletter.core.db.session import transaction
from newsletter.web.application import create_app
from tests.support.smtp_sink import SmtpSink

SIGNUPS = 20
DEADLINE = 120.0  # seconds after the broker returns before a confirmation counts as lost


def signup_round(
    rig: Any, make_series: Any, tick_loop: Any, every: float
) -> tuple[int, int, float | None, str]:
    """Returns (lost, duplicated, recovery seconds or None, a note on the answers).

    Answers that are not one identical 200 page count every signup as lost: a person told
    something else (or a 500) did not get the product's promise.
    """
    rig.reset_data()
    sink = SmtpSink().start()
    env = rig.configure(sink.url, {"NEWSLETTER_SIGNUP_RATE_LIMIT": "0"})
    with transaction() as session:
        make_series(session, slug="letters")
    ticks = None
    try:
        for _ in range(2):
            rig.start_worker(env)
        rig.redis.stop()
        answers: Counter[tuple[int, bytes]] = Counter()
        with TestClient(create_app(), base_url="http://testserver") as client:
            for i in range(SIGNUPS):
                email, name = f"joiner{i}@example.org", f"Joiner {i}"
                form = {"email": email, "name": name, "series": "letters"}
                response = client.post("/subscribe", data=form)
                answers[(response.status_code, response.content)] += 1
        rig.redis.start()
        back = time.monotonic()
        ticks = tick_loop(every)
        deadline = back + DEADLINE
        while time.monotonic() < deadline and sink.received < SIGNUPS:
            time.sleep(0.2)
        arrived = time.monotonic() - back if sink.received >= SIGNUPS else None
        time.sleep(2.0)  # late duplicates
    finally:
        if ticks is not None:
            ticks.close()
        rig.stop_workers()
    per_rcpt: Counter[str] = Counter(r for _f, rcpts, _d in sink.messages for r in rcpts)
    sink.stop()
    lost = sum(1 for i in range(SIGNUPS) if per_rcpt[f"joiner{i}@example.org"] == 0)
    duplicated = sum(n - 1 for n in per_rcpt.values() if n > 1)
    codes = sorted({code for code, _body in answers})
    if len(answers) != 1 or codes != [200]:
        lost = SIGNUPS
    note = f"{len(answers)} distinct answer(s) to {SIGNUPS} signups, status {codes}"
    return lost, duplicated, arrived, note
