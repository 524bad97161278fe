"""`newsletter status` through the real Typer app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from newsletter.cli import app

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("private_celery_app")


def test_status_json_and_tables(series):
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"queues", "workers", "deliveries", "issues", "send_rate", "failures"}
    tables = runner.invoke(app, ["status"])
    assert (
        tables.exit_code == 0
        and "Deliveries" in tables.output
        and "Recent failures" in tables.output
    )
