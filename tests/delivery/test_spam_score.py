"""Every seed part, and the confirmation mail, as the worker sends them, scores ≤ 0.5 with
SpamAssassin's local rules, and carries RSA and Ed25519 signatures that verify.

The messages are what a real worker put on the wire, captured raw by the SMTP sink, with
production-like settings: a public https base URL (no port: WEIRD_PORT scores one) and
both DKIM keys.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dkim
import pytest
from sqlalchemy import select

from newsletter.content import load_series
from newsletter.core.db.models import Issue, utcnow
from newsletter.core.db.session import transaction
from newsletter.core.settings import PROJECT_ROOT, reset_settings
from newsletter.delivery.tasks import tick_now
from newsletter.scheduling.series import create_series
from newsletter.subscribers.signup import signup
from tests.support.dkimkeys import KeyPair, dns_stub, ed25519_pair, rsa_pair, write_key
from tests.support.factories import add_subscribers
from tests.support.spam import spam_verdict

pytestmark = pytest.mark.integration
MAX_SCORE = 0.5
SEED = PROJECT_ROOT / "content" / "tech-labor-and-ai"


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[KeyPair, KeyPair]:
    rsa_key, ed_key = rsa_pair(), ed25519_pair()
    monkeypatch.setenv("NEWSLETTER_BASE_URL", "https://letters.example.com")
    monkeypatch.setenv("NEWSLETTER_FROM", "Tech Labor Letters <letters@example.com>")
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", "example.com")
    monkeypatch.setenv("NEWSLETTER_DKIM_SELECTOR", "nl2026")
    monkeypatch.setenv(
        "NEWSLETTER_DKIM_PRIVATE_KEY_FILE", str(write_key(tmp_path, "rsa.pem", rsa_key.private_pem))
    )
    monkeypatch.setenv("NEWSLETTER_DKIM_ED25519_SELECTOR", "nl2026e")
    monkeypatch.setenv(
        "NEWSLETTER_DKIM_ED25519_PRIVATE_KEY_FILE",
        str(write_key(tmp_path, "ed.pem", ed_key.private_pem)),
    )
    reset_settings()
    return rsa_key, ed_key


def seed_series_all_due(reader: str) -> int:
    """The seed series as a daily broadcast that began ten days ago (every part due), with
    one confirmed reader; returns how many parts it has."""
    series = load_series(SEED)
    start = (utcnow() - dt.timedelta(days=10)).replace(second=0, microsecond=0)
    with transaction() as session:
        row = create_series(
            session, series.slug, series, "daily", start, "UTC", "broadcast", allow_past=True
        )
        add_subscribers(session, row, 1, emails=[reader], name="Ada Lovelace")
        return len(session.scalars(select(Issue.id).where(Issue.series_id == row.id)).all())


def verify_both(data: bytes, rsa_key: KeyPair, ed_key: KeyPair) -> None:
    dns = dns_stub(
        {"nl2026._domainkey.example.com": rsa_key.txt, "nl2026e._domainkey.example.com": ed_key.txt}
    )
    for idx, algorithm in enumerate((b"rsa-sha256", b"ed25519-sha256")):
        checker = dkim.DKIM(data)
        assert checker.verify(idx=idx, dnsfunc=dns), algorithm
        assert checker.signature_fields[b"a"] == algorithm


def test_every_seed_part_and_the_confirmation_score_clean(
    db, start_worker, sink, keys: tuple[KeyPair, KeyPair], tmp_path: Path
) -> None:
    parts = seed_series_all_due("ada@example.org")
    assert parts >= 4
    with transaction() as session:
        signup(session, "grace@example.org", "Grace Hopper", load_series(SEED).slug)
    start_worker()
    tick_now(utcnow())
    assert sink.wait_for(parts + 1, timeout=120), sink.received

    by_kind = {"issue": [], "confirmation": []}
    for _sender, rcpts, data in sink.messages:
        by_kind["confirmation" if rcpts == ["grace@example.org"] else "issue"].append(data)
    assert len(by_kind["issue"]) == parts and len(by_kind["confirmation"]) == 1

    verdicts = []
    for kind, messages in by_kind.items():
        for i, data in enumerate(messages):
            verify_both(data, *keys)
            assert b":8000" not in data and b"localhost" not in data
            verdict = spam_verdict(data, tmp_path / "sa-home")
            verdicts.append((kind, i, verdict))
    bad = [(kind, i, v.score, v.rules) for kind, i, v in verdicts if v.score > MAX_SCORE]
    assert not bad, "\n".join(v.report for *_, v in verdicts if v.score > MAX_SCORE)
    for *_, verdict in verdicts:
        assert "HTML_FONT_LOW_CONTRAST" not in verdict.rules
        assert "WEIRD_PORT" not in verdict.rules
