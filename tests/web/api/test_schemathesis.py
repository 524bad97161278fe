"""Property-based fuzzing of /api/v1 and /healthz from /openapi.json, in-process over ASGI,
against a fresh database holding a series, a subscriber and deliveries.

Stateless: every operation on its own, with an admin's token and with none. Stateful: the
OpenAPI links (newsletter/web/api/openapi.py) chain operations with real ids and slugs (a
series list → its detail → an issue; a signup → the subscriber list → read, unsubscribe,
erase, read again). Every schemathesis check runs: no 5xx, every status documented, every
body and header as documented, a deleted subscriber gone, no operation open without a token.
The number of requests made is printed after the run (tests/web/api/conftest.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.core.transport import Response

from newsletter.core.db.models import DeliveryStatus, Series
from newsletter.core.db.session import transaction
from newsletter.core.errors import UserError
from newsletter.subscribers.addresses import normalise_email
from newsletter.web.application import create_app
from tests.support.apicases import CASES, STEPS
from tests.support.factories import (
    add_series,
    api_token,
    make_account,
    make_delivery,
    make_subscriber,
)


def _ours(address: str) -> bool:
    try:
        normalise_email(address)
    except UserError:
        return False
    return True


# The schema says `format: email`, and that our rules may refuse more (a 400): email-validator
# refuses special-use domains such as `.test`, which the format allows (and filtering those
# out of any domain costs seconds). Valid data, for the
# check that valid data is accepted, is an address both accept.
DOMAINS = st.sampled_from(["example.com", "mail.example.org", "xn--bcher-kva.example.net"])
schemathesis.openapi.format("email", st.emails(domains=DOMAINS).filter(_ours))
# The same for the rules of a manuscript, a cadence and a zone: valid data is what they accept.
ESSAY = "Title {n}\n\nA first paragraph, long enough to read as one.\n\nAnd a second one here.\n"
schemathesis.openapi.format(
    "manuscript",
    st.integers(1, 4).map(lambda k: "\n".join(ESSAY.format(n=n) for n in range(1, k + 1))),
)
# One essay, as Markdown or plain text alike (`# ` marks the title in both).
schemathesis.openapi.format("essay", st.integers(1, 9).map(lambda n: "# " + ESSAY.format(n=n)))
# A line of text: no control characters, and none a JSON body cannot carry (surrogates).
LINE = st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])
schemathesis.openapi.format("line", st.text(LINE, min_size=1, max_size=80))
schemathesis.openapi.format("cadence", st.sampled_from(["daily", "weekly", "every 3d"]))
schemathesis.openapi.format("time-zone", st.sampled_from(["UTC", "America/New_York", "Asia/Tokyo"]))
# A series' start is a local wall time (no offset), and a broadcast's must be in the future
# (the schema says so in words): valid data is a future one.
FUTURE = st.datetimes(dt.datetime(2031, 1, 1), dt.datetime(2099, 12, 31))
schemathesis.openapi.format("local-date-time", FUTURE.map(lambda d: f"{d:%Y-%m-%dT%H:%M:%S}"))

# Stateful runs follow our links with valid data (the stateless runs send the invalid data),
# and only our links: inference would also follow `subscriber_id` of an anonymised delivery,
# which is null by design, into GET /subscribers/None.
# Invalid data is also rightly refused as too large (413) or not JSON (415), before the schema.
REFUSED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = SchemathesisConfig.from_dict(
    {
        "phases": {
            "stateful": {"generation": {"mode": "positive"}, "inference": {"algorithms": []}}
        },
        "checks": {"negative_data_rejection": {"expected-statuses": REFUSED}},
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(), config=CONFIG)
admin_schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(), config=CONFIG)
# The admin's token for the running test: each test has a fresh database, so a fresh token.
TOKEN: dict[str, str] = {}


@admin_schema.auth(refresh_interval=None)
class AdminToken:
    """Schemathesis sets the token itself, so that a case meant to go without one (does
    the operation refuse a missing token?) really goes without it."""

    def get(self, case: Case, context: Any) -> str:
        return "admin"

    def set(self, case: Case, data: str, context: Any) -> None:
        # Read at call time: schemathesis also builds cases while collecting, before any
        # test (and its token) exists.
        token = TOKEN.get(data, "none-yet")
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


pytestmark = pytest.mark.slow

STATELESS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Without a token every operation answers 401 before it reads anything: fewer cases do.
ANONYMOUS = settings(STATELESS, max_examples=10)
STATEFUL = settings(
    max_examples=100,
    stateful_step_count=10,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def admin(db: str, clock, sent) -> None:
    """A database with one series, a reader and two deliveries; an admin's token in TOKEN."""
    series_id = add_series()
    with transaction() as session:
        series = session.get_one(Series, series_id)
        reader = make_subscriber(session, series)
        make_delivery(session, series, reader, 1, DeliveryStatus.SENT)
        make_delivery(session, series, None, 2, DeliveryStatus.FAILED, "550 5.1.1 gone")
    TOKEN["admin"] = api_token(make_account("admin"))


@admin_schema.parametrize()
@STATELESS
def test_stateless_as_admin(case: Case, admin: None) -> None:
    CASES["stateless admin"] += 1
    case.call_and_validate()


@schema.parametrize()
@ANONYMOUS
def test_stateless_without_credentials(case: Case, sqlite_db: str) -> None:
    CASES["stateless anonymous"] += 1
    case.call_and_validate()


def _machine(label: str, source: Any) -> Any:
    """The schema's state machine, counting its requests."""

    class Machine(source.as_state_machine()):  # type: ignore[misc]
        def after_call(self, response: Response, case: Case) -> None:
            super().after_call(response, case)
            CASES[label] += 1
            STEPS[f"{label}: {case.operation.label} {response.status_code}"] += 1

    return Machine


def _run(machine: Any, run_settings: settings, attempts: int = 3) -> None:
    """Run a state machine; start again (new random draws) if Hypothesis finds its own
    generation inconsistent. The machine walks one database through all its examples, and
    schemathesis feeds earlier responses into later draws, so a prefix Hypothesis replays
    can draw differently (FlakyStrategyDefinition, about one run in five): a fault of the
    harness, not an answer of ours. A real failure is never retried."""
    for attempt in range(1, attempts + 1):
        try:
            machine.run(settings=run_settings)
            return
        except FlakyStrategyDefinition:
            if attempt == attempts:
                raise


def test_stateful_as_admin(admin: None) -> None:
    _run(_machine("stateful admin", admin_schema), STATEFUL)


def test_stateful_without_credentials(sqlite_db: str) -> None:
    _run(_machine("stateful anonymous", schema), settings(STATEFUL, max_examples=10))
