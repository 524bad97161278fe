"""Settings: the secret key generated on first start when none is configured."""

from __future__ import annotations

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
