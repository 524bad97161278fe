"""The DNS plan: DKIM TXT per key (from the private key, in 255-character strings), SPF,
DMARC and MX records, and the offline checks of what was published."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.core.settings import reset_settings
from newsletter.mail.dnsrecords import DnsPlan, dns_plan
from tests.support.dkimkeys import KeyPair, ed25519_pair, rsa_pair, write_key


@pytest.fixture(scope="module")
def rsa_key() -> KeyPair:
    return rsa_pair(4096)  # long enough that its record needs three strings


@pytest.fixture(scope="module")
def ed_key() -> KeyPair:
    return ed25519_pair()


@pytest.fixture
def configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, rsa_key: KeyPair, ed_key: KeyPair
) -> None:
    monkeypatch.setenv("NEWSLETTER_FROM", "Letters <letters@news.example.com>")
    monkeypatch.setenv("NEWSLETTER_BASE_URL", "https://letters.example.com")
    monkeypatch.setenv("NEWSLETTER_BOUNCE_DOMAIN", "bounces.example.com")
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", "example.com")
    monkeypatch.setenv("NEWSLETTER_DKIM_SELECTOR", "nl2026")
    monkeypatch.setenv(
        "NEWSLETTER_DKIM_PRIVATE_KEY_FILE", str(write_key(tmp_path, "rsa.pem", rsa_key.private_pem))
    )
    monkeypatch.setenv("NEWSLETTER_DKIM_ED25519_SELECTOR", "nl2026e")
    monkeypatch.setenv("NEWSLETTER_DKIM_ED25519_PRIVATE_KEY", ed_key.private_pem.decode())
    reset_settings()


def records(plan: DnsPlan) -> dict[tuple[str, str], str]:
    return {(r.name, r.type): r.value for r in plan.records}


def levels(plan: DnsPlan) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for check in plan.checks:
        found.setdefault(check.level, []).append(check.message)
    return found


def test_records_for_a_configured_sender(
    configured: None, rsa_key: KeyPair, ed_key: KeyPair
) -> None:
    plan = dns_plan()
    found = records(plan)
    assert found[("nl2026._domainkey.example.com", "TXT")] == rsa_key.txt.decode()
    assert found[("nl2026e._domainkey.example.com", "TXT")] == ed_key.txt.decode()
    assert found[("bounces.example.com", "TXT")].startswith("v=spf1 ")
    dmarc = found[("_dmarc.news.example.com", "TXT")]
    assert dmarc.startswith("v=DMARC1; p=none; rua=mailto:")
    assert found[("bounces.example.com", "MX")] == "10 letters.example.com."
    assert plan.ok and "error" not in levels(plan) and "warning" not in levels(plan)


def test_long_txt_is_split_into_255_character_strings(configured: None) -> None:
    (record,) = [r for r in dns_plan().records if r.name.startswith("nl2026.")]
    assert len(record.strings) == 3
    assert all(len(s) <= 255 for s in record.strings)
    assert "".join(record.strings) == record.value
    assert record.zone_line() == (
        "nl2026._domainkey.example.com. 3600 IN TXT " + " ".join(f'"{s}"' for s in record.strings)
    )


@pytest.mark.parametrize("form", ["pem", "records", "zone"])
def test_published_keys_that_match(
    configured: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    rsa_key: KeyPair,
    ed_key: KeyPair,
    form: str,
) -> None:
    if form == "pem":
        text = rsa_key.public_pem + ed_key.public_pem
    elif form == "records":
        text = rsa_key.txt + b"\n" + ed_key.txt + b"\n"
    else:  # as a zone file holds them: quoted strings, cut anywhere
        txt = rsa_key.txt.decode()
        text = f'nl2026._domainkey IN TXT ( "{txt[:100]}" "{txt[100:]}" )\n'.encode()
        text += b'nl2026e._domainkey IN TXT "' + ed_key.txt + b'"\n'
    monkeypatch.setenv(
        "NEWSLETTER_DKIM_PUBLIC_KEY_FILE", str(write_key(tmp_path, "published", text))
    )
    reset_settings()
    plan = dns_plan()
    assert plan.ok, plan.checks
    assert len(levels(plan)["ok"]) == 2


def test_a_published_key_that_does_not_match_fails(
    configured: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ed_key: KeyPair
) -> None:
    other = rsa_pair(1024)
    published = write_key(tmp_path, "published", other.txt + b"\n" + ed_key.txt)
    monkeypatch.setenv("NEWSLETTER_DKIM_PUBLIC_KEY_FILE", str(published))
    reset_settings()
    plan = dns_plan()
    assert not plan.ok
    (error,) = levels(plan)["error"]
    assert "nl2026 (rsa-4096)" in error and "not in NEWSLETTER_DKIM_PUBLIC_KEY_FILE" in error


def test_unreadable_published_file_fails(
    configured: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEWSLETTER_DKIM_PUBLIC_KEY_FILE", str(tmp_path / "missing"))
    reset_settings()
    plan = dns_plan()
    assert not plan.ok and "cannot read" in levels(plan)["error"][0]


def test_half_configured_dkim_is_a_failed_check_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWSLETTER_DKIM_SELECTOR", "nl2026")
    reset_settings()
    plan = dns_plan()
    assert not plan.ok and "NEWSLETTER_DKIM_DOMAIN" in levels(plan)["error"][0]
    assert all(r.type != "TXT" or "DKIM1" not in r.value for r in plan.records)


def test_defaults_warn_about_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSLETTER_BASE_URL", "http://letters.example.com:8000")
    reset_settings()
    plan = dns_plan()
    assert plan.ok  # warnings only
    warnings = " ".join(levels(plan)["warning"])
    assert "DKIM is off" in warnings
    assert "NEWSLETTER_BOUNCE_DOMAIN is unset" in warnings
    assert "port 8000" in warnings
    assert not [r for r in plan.records if r.type == "MX"]


def test_ed25519_only_and_misaligned_domain_warn(
    monkeypatch: pytest.MonkeyPatch, ed_key: KeyPair
) -> None:
    monkeypatch.setenv("NEWSLETTER_FROM", "letters@example.org")
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", "example.com")
    monkeypatch.setenv("NEWSLETTER_DKIM_ED25519_SELECTOR", "e")
    monkeypatch.setenv("NEWSLETTER_DKIM_ED25519_PRIVATE_KEY", ed_key.private_pem.decode())
    reset_settings()
    warnings = " ".join(levels(dns_plan())["warning"])
    assert "only an Ed25519 key" in warnings
    assert "not aligned with the From domain example.org" in warnings
