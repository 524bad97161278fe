"""Settings: the secret key generated on first start when none is configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newsletter.core.tokens import make_token, read_token


def test_generated_secret_when_unset(monkeypatch, caplog, _isolated_settings) -> None:
    from newsletter.core.settings import get_settings, reset_settings

    monkeypatch.delenv("NEWSLETTER_SECRET_KEY")
    reset_settings()
    with caplog.at_level("WARNING"):
        first = get_settings().secret()
    assert len(first) > 40 and "NEWSLETTER_SECRET_KEY is unset" in caplog.text
    path = _isolated_settings / "secret_key"
    assert path.stat().st_mode & 0o777 == 0o600
    reset_settings()
    assert get_settings().secret() == first  # stable across restarts
    token = make_token("manage", 1)
    assert read_token(token, "manage").subscriber_id == 1


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("NEWSLETTER_SIGNUP_RATE_LIMIT", "ten", "NEWSLETTER_SIGNUP_RATE_LIMIT: Input should be"),
        ("NEWSLETTER_METRICS_BIND", "9108", "NEWSLETTER_METRICS_BIND: '9108' is not host:port"),
        ("NEWSLETTER_METRICS_BIND", "[::1]:99999", "is not host:port"),
        ("NEWSLETTER_FORWARDED_ALLOW_IPS", "10.0.0.0/8,,nginx", "'nginx' is not an IP address"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(monkeypatch, name, value, says) -> None:
    """Not pydantic's multi-line report, and never the value of a secret."""
    from newsletter.core.settings import SettingsError, get_settings, reset_settings

    monkeypatch.setenv(name, value)
    reset_settings()
    with pytest.raises(SettingsError) as raised:
        get_settings()
    message = str(raised.value)
    assert says in message and "\n" not in message and message.startswith(name)


def test_bind_addresses() -> None:
    from newsletter.core.settings import split_bind

    assert split_bind("127.0.0.1:9108") == ("127.0.0.1", 9108)
    assert split_bind("[::1]:9108") == ("::1", 9108)
    assert split_bind("localhost:9108") == ("localhost", 9108)


def test_the_command_says_a_bad_setting_in_one_line_without_a_traceback(tmp_path) -> None:
    """The Celery app module reads the settings at import; that must not become a traceback."""
    env = {**os.environ, "NEWSLETTER_TICK_SECONDS": "abc", "NEWSLETTER_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("newsletter")), "status"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: NEWSLETTER_TICK_SECONDS: Input should be a valid number, unable to parse "
        "string as a number"
    ]
    assert "Traceback" not in done.stdout + done.stderr
