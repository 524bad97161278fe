"""The schemathesis run counts its requests (tests/support/apicases.py); this prints them."""

from __future__ import annotations

import pytest

from tests.support.apicases import CASES, STEPS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CASES:
        parts = ", ".join(f"{label} {n}" for label, n in sorted(CASES.items()))
        terminalreporter.write_line(f"schemathesis: {CASES.total()} requests ({parts})")
    if STEPS and terminalreporter.config.getoption("verbose") > 0:
        for step, n in sorted(STEPS.items()):
            terminalreporter.write_line(f"  {step}: {n}")
