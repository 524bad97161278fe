"""SpamAssassin's verdict on one message, with local rules only (Debian's package, installed
by scripts/ensure-spamassassin.sh): no DNS or network tests, no Bayes, no user state kept
outside the test's own directory."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["SpamVerdict", "spam_verdict"]

_STATUS = re.compile(rb"^X-Spam-Status: .*?score=(-?[\d.]+).*?tests=(.*?)\s+autolearn", re.S | re.M)


@dataclass(frozen=True)
class SpamVerdict:
    score: float
    rules: list[str]
    report: str


def spam_verdict(data: bytes, home: Path) -> SpamVerdict:
    binary = shutil.which("spamassassin")
    if binary is None:
        pytest.fail("spamassassin is missing: run scripts/ensure-spamassassin.sh (make test does)")
    home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        # -L: local tests only (no DNS, no network rules); -t: append the report;
        # -x: create no user preferences; Bayes and auto-learning off.
        [binary, "-L", "-t", "-x", "--cf", "use_bayes 0", "--cf", "bayes_auto_learn 0"],
        input=data,
        capture_output=True,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        timeout=120,
        check=True,
    )
    match = _STATUS.search(proc.stdout)
    assert match, proc.stdout[:2000]
    rules = [r for r in re.sub(rb"\s+", b"", match.group(2)).decode().split(",") if r]
    report = proc.stdout.decode("utf-8", "replace").rpartition("Content analysis details:")[2]
    return SpamVerdict(float(match.group(1)), rules, report)
