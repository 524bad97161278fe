"""The MJML we generate is valid for the official MJML validator in strict mode.

mjml-python (mrml) does not validate, so the npm `mjml` v4 CLI checks our sources. It is a
hard requirement, not an optional extra: when the binary is missing the test fails and says
how to install it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from newsletter.render import render_email_mjml, render_issue

ROOT = Path(__file__).resolve().parents[2]
MJML_CLI = ROOT / ".cache" / "node" / "node_modules" / ".bin" / "mjml"


def strict_validate(source: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    if not MJML_CLI.exists():
        pytest.fail(f"MJML validator missing at {MJML_CLI}: run scripts/ensure-browser.sh")
    path = tmp_path / "email.mjml"
    path.write_text(source, encoding="utf-8")
    return subprocess.run(
        [str(MJML_CLI), "-r", str(path), "-s", "--config.validationLevel=strict"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_validator_rejects_invalid_mjml(tmp_path):
    bad = (
        '<mjml lang="en"><mj-body><mj-section><mj-column>'
        '<mj-text colour="red">x</mj-text><mj-callout>y</mj-callout>'
        "</mj-column></mj-section></mj-body></mjml>"
    )
    result = strict_validate(bad, tmp_path)
    assert result.returncode != 0
    assert "Attribute colour is illegal" in result.stdout + result.stderr


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_seed_issue_mjml_is_strictly_valid(seed_series, number, tmp_path):
    result = strict_validate(render_issue(seed_series, number).mjml, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_confirm_mjml_is_strictly_valid(tmp_path):
    source = render_email_mjml(
        "confirm",
        {
            "series_title": "Tech Labor and AI",
            "name": "Ana",
            "confirm_url": "https://letters.example.com/confirm/abc?x=1&y=2",
        },
    )
    result = strict_validate(source, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
