"""Confirmations that survive faults, with real processes: Celery worker and beat, Redis,
the SMTP sink, and both databases.

Nobody runs a tick by hand here: beat publishes one every second and the worker runs it,
as in production, so each test shows the system recovering on its own.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from newsletter.cli import app as cli
from newsletter.core import celery_app
from newsletter.core.db.models import Mail
from newsletter.core.db.session import transaction
from newsletter.core.settings import get_settings, reset_settings
from newsletter.subscribers import service
from newsletter.web.application import create_app
from tests.support.factories import make_series
from tests.support.ledger import wait_until
from tests.support.processes import Process, Processes, console_script

pytestmark = pytest.mark.integration
TICK = "1"  # seconds between beat's ticks
# The 421 outage: short in the suite; NEWSLETTER_TEST_OUTAGE=60 runs the full minute.
OUTAGE = float(os.environ.get("NEWSLETTER_TEST_OUTAGE", "5"))


def closed_port() -> int:
    """A loopback port nobody listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def start_beat(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    """`celery -A worker beat` with this test's settings; killed at the end."""
    with Processes(dict(os.environ), tmp_path / "logs", grace=0) as procs:

        def start(**overrides: str) -> Process:
            env = {**os.environ, **{f"NEWSLETTER_{k.upper()}": v for k, v in overrides.items()}}
            get_settings().data_dir.mkdir(parents=True, exist_ok=True)  # its schedule file
            return procs.spawn("beat", [console_script("celery"), "-A", "worker", "beat"], env)

        yield start


def mail_counts() -> dict[str, int]:
    with transaction() as session:
        rows = session.execute(select(Mail.status, func.count()).group_by(Mail.status))
        return dict(rows.all())


def confirmed_addresses(sink) -> list[str]:
    """The recipient of every confirmation mail the sink accepted (one entry per mail)."""
    found = []
    for _, rcpt_tos, data in sink.messages:
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert "/confirm/" in message.get_body(("plain",)).get_content()
        found.extend(rcpt_tos)
    return found


def status_json() -> dict:
    result = CliRunner().invoke(cli, ["status", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_broker_down_signups_answer_alike_and_mail_goes_out_when_it_is_back(
    db, redis_url, sink, start_worker, start_beat, monkeypatch
) -> None:
    with transaction() as session:
        make_series(session)
    # The broker (and Redis with it) is down: nothing listens at its address.
    down = f"redis://127.0.0.1:{closed_port()}/0"
    monkeypatch.setenv("NEWSLETTER_BROKER_URL", down)
    monkeypatch.setenv("NEWSLETTER_REDIS_URL", down)
    monkeypatch.setenv("NEWSLETTER_SIGNUP_RATE_LIMIT", "1000")  # counts fall back to local
    reset_settings()
    celery_app.reconfigure()
    addresses = [f"reader{i}@example.org" for i in range(20)]
    answers = set()
    started = time.monotonic()
    with TestClient(create_app(), base_url="http://testserver") as client:
        for address in [*addresses, addresses[0]]:  # and one address that is known by now
            response = client.post("/subscribe", data={"email": address, "series": "letters"})
            answers.add((response.status_code, response.text))
    signup_seconds = time.monotonic() - started
    assert len(answers) == 1 and answers.pop()[0] == 200
    assert signup_seconds < 5  # a refused broker costs milliseconds, not retries
    assert mail_counts() == {"pending": 20}  # every confirmation is in the outbox

    # The broker is back. Start a worker and beat; nobody re-submits or runs anything.
    monkeypatch.setenv("NEWSLETTER_BROKER_URL", redis_url)
    monkeypatch.setenv("NEWSLETTER_REDIS_URL", redis_url)
    reset_settings()
    celery_app.reconfigure()
    back = time.monotonic()
    start_worker(tick_seconds=TICK)
    start_beat(tick_seconds=TICK)
    assert sink.wait_for(20, timeout=20), mail_counts()
    arrived = time.monotonic() - back
    wait_until(lambda: mail_counts() == {"sent": 20}, timeout=10)
    assert sorted(confirmed_addresses(sink)) == sorted(addresses)  # each exactly once
    print(f"21 signups, broker down: {signup_seconds:.2f}s; 20 confirmations arrived")
    print(f"{arrived:.1f}s after the broker came back (worker and beat start included)")


def test_confirmations_wait_out_a_421_outage_and_all_arrive_once(
    db, sink, start_worker, start_beat
) -> None:
    with transaction() as session:
        make_series(session)
    settings = {"tick_seconds": TICK, "retry_base_seconds": "0.5", "max_attempts": "30"}
    start_worker(**settings)
    start_beat(**settings)
    sink.fail_transient_for(seconds=OUTAGE)  # 421 and hang up, for every transaction
    outage = time.monotonic()
    addresses = [f"patient{i}@example.org" for i in range(10)]
    for address in addresses:
        with transaction() as session:
            service.signup(session, address, "", "letters")
    # Meanwhile the operator sees them waiting, with the server's reply.
    wait_until(lambda: sink.refused >= 3, timeout=10)
    during = status_json()
    assert during["mail_waiting"]["confirmation"] > 0
    assert any("421" in t["reply"] for t in during["mail_troubles"])
    assert sink.received == 0
    # Back-off doubles per attempt, so the last retry may land up to one outage late.
    assert sink.wait_for(10, timeout=2 * OUTAGE + 15), mail_counts()
    recovered = time.monotonic() - outage
    wait_until(lambda: mail_counts() == {"sent": 10}, timeout=10)
    assert sorted(confirmed_addresses(sink)) == sorted(addresses)
    after = status_json()
    assert after["mail_waiting"] == {"confirmation": 0} and after["mail_troubles"] == []
    print(f"10 confirmations delivered {recovered:.1f}s after a {OUTAGE:g}s outage began")


def test_the_global_pause_holds_confirmations_until_resume(
    db, sink, start_worker, start_beat
) -> None:
    with transaction() as session:
        make_series(session)
    runner = CliRunner()
    assert runner.invoke(cli, ["pause"]).exit_code == 0
    start_worker(tick_seconds=TICK)
    start_beat(tick_seconds=TICK)
    addresses = [f"held{i}@example.org" for i in range(5)]
    for address in addresses:
        with transaction() as session:
            service.signup(session, address, "", "letters")
    time.sleep(3)  # the wake-ups and three ticks have come and gone
    assert sink.received == 0 and mail_counts() == {"pending": 5}
    held = status_json()
    assert held["paused"] is True and held["mail_waiting"] == {"confirmation": 5}
    assert runner.invoke(cli, ["resume"]).exit_code == 0
    assert sink.wait_for(5, timeout=15), mail_counts()
    assert sorted(confirmed_addresses(sink)) == sorted(addresses)
