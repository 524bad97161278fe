"""`newsletter dns`: zone-file lines and findings, `--json`, exit 1 when a check fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsletter.core.settings import reset_settings
from tests.support.cli import ok, partial
from tests.support.dkimkeys import ed25519_pair, rsa_pair, write_key


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[bytes, bytes]:
    rsa_key, ed_key = rsa_pair(), ed25519_pair()
    monkeypatch.setenv("NEWSLETTER_BASE_URL", "https://letters.example.com")
    monkeypatch.setenv("NEWSLETTER_BOUNCE_DOMAIN", "bounces.example.com")
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", "example.com")
    monkeypatch.setenv("NEWSLETTER_DKIM_SELECTOR", "nl2026")
    monkeypatch.setenv("NEWSLETTER_DKIM_PRIVATE_KEY", rsa_key.private_pem.decode())
    monkeypatch.setenv("NEWSLETTER_DKIM_ED25519_SELECTOR", "nl2026e")
    monkeypatch.setenv(
        "NEWSLETTER_DKIM_ED25519_PRIVATE_KEY_FILE",
        str(write_key(tmp_path, "ed.pem", ed_key.private_pem)),
    )
    reset_settings()
    return rsa_key.txt, ed_key.txt


def test_prints_zone_lines_for_every_record(keys: tuple[bytes, bytes]) -> None:
    out = ok("dns")
    lines = out.splitlines()
    dkim_line = next(line for line in lines if line.startswith("nl2026._domainkey."))
    strings = dkim_line.split(" IN TXT ", 1)[1]
    assert json.loads("[" + strings.replace('" "', '", "') + "]") and all(
        len(s) <= 255 for s in json.loads("[" + strings.replace('" "', '", "') + "]")
    )
    assert "".join(json.loads("[" + strings.replace('" "', '", "') + "]")) == keys[0].decode()
    assert any(line.startswith("nl2026e._domainkey.example.com. 3600 IN TXT") for line in lines)
    assert "_dmarc.example.com. 3600 IN TXT" in out
    assert "bounces.example.com. 3600 IN MX 10 letters.example.com." in out


def test_json(keys: tuple[bytes, bytes]) -> None:
    plan = json.loads(ok("dns", "--json"))
    assert plan["ok"] is True
    values = {r["name"]: r["value"] for r in plan["records"] if r["type"] == "TXT"}
    assert values["nl2026e._domainkey.example.com"] == keys[1].decode()


def test_a_mismatched_published_key_exits_1(
    keys: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    published = write_key(tmp_path, "published.txt", rsa_pair(1024).txt + b"\n" + keys[1])
    monkeypatch.setenv("NEWSLETTER_DKIM_PUBLIC_KEY_FILE", str(published))
    reset_settings()
    out = partial("dns")
    assert "error: DKIM key nl2026 (rsa-2048): its public key is not in" in out
    assert "ok: DKIM key nl2026e (ed25519): matches" in out
    assert json.loads(partial("dns", "--json"))["ok"] is False
