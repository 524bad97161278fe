"""Property-based fuzzing of /api/v1 and /healthz from /openapi.json: no input gives a 5xx,
and every 2xx body matches its documented schema. Runs in-process over ASGI, authenticated
as an admin, against a database with a series, subscribers and deliveries in it.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from newsletter.core.db.models import DeliveryStatus, Series
from newsletter.core.db.session import transaction
from newsletter.web.application import create_app
from tests.support.factories import api_token, make_account, make_delivery, make_subscriber

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


@pytest.fixture
def token(series: str, sent) -> str:
    with transaction() as session:
        s = session.query(Series).one()
        reader = make_subscriber(session, s)
        make_delivery(session, s, reader, 1, DeliveryStatus.SENT)
        make_delivery(session, s, None, 2, DeliveryStatus.FAILED, "550 5.1.1 gone")
    return api_token(make_account("admin"))


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_has_no_server_errors(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
