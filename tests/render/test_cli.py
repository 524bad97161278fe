"""`newsletter preview`: writes what an editor wants to look at; bad input is one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from newsletter.cli import app
from tests.support.htmlparts import texts_with_class


def test_preview_writes_html_text_and_mjml(seed_path: Path, tmp_path: Path):
    out, text, mjml = tmp_path / "p" / "two.html", tmp_path / "two.txt", tmp_path / "two.mjml"
    result = CliRunner().invoke(
        app,
        [
            "preview",
            str(seed_path),
            "--essay",
            "2",
            "--out",
            str(out),
            "--text",
            str(text),
            "--mjml",
            str(mjml),
        ],
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Part 2 of 4" in html and texts_with_class(html, "pull-quote")
    assert "Hi Ana Reader," in html  # sample subscriber values
    assert "Next in the series:" in text.read_text(encoding="utf-8")
    assert mjml.read_text(encoding="utf-8").startswith('<mjml lang="en">')
    assert "Part 2 of 4" in result.output


def test_preview_unknown_essay_is_one_line_error(seed_path: Path, tmp_path: Path):
    out = tmp_path / "nine.html"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "newsletter",
            "preview",
            str(seed_path),
            "--essay",
            "9",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "essay 9" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
