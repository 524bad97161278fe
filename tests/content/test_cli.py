"""`newsletter content check|import`, in-process (CliRunner) and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.content import ContentError, load_series
from newsletter.content.textfiles import MAX_FILE_BYTES
from newsletter.core.settings import reset_settings
from tests.support.seedtext import as_pairs, expected_essays

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "content" / "tech-labor-and-ai"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def check_json(path: Path) -> dict:
    result = run("content", "check", path, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_check_json_on_the_seed_has_the_documented_shape(seed_path: Path) -> None:
    data = check_json(seed_path)
    assert list(data) == ["essays", "warnings"]
    assert data["warnings"] == []
    assert [list(e) for e in data["essays"]] == [["number", "title", "slug", "blocks"]] * 4
    got = [(e["title"], [(b["type"], b["text"]) for b in e["blocks"]]) for e in data["essays"]]
    assert got == expected_essays()
    assert [e["number"] for e in data["essays"]] == [1, 2, 3, 4]


def test_check_json_is_exactly_one_json_document(seed_path: Path) -> None:
    out = run("content", "check", seed_path, "--json").stdout
    assert out.startswith('{"essays": [{"number": 1, "title": "The Friction Between AI')
    assert out.endswith("}\n") and out.count("\n") == 1
    assert "Amazon’s" in out  # not \u-escaped


def test_check_table_shows_counts(seed_path: Path) -> None:
    result = run("content", "check", seed_path)
    assert result.exit_code == 0
    assert "Pull quotes" in result.stdout
    assert "Navigating the Future of Tech Labor and AI" in result.stdout


def test_shipped_sample_series_matches_the_seed(seed_path: Path) -> None:
    assert check_json(SHIPPED) == check_json(seed_path)
    series = load_series(SHIPPED)
    assert (series.slug, series.title, series.author) == (
        "tech-labor-and-ai",
        "Tech Labor and AI",
        "Tech Labor Letters",
    )
    assert series.description


def test_import_writes_a_folder_that_checks_the_same(seed_path: Path, tmp_path: Path) -> None:
    result = run(
        "content", "import", seed_path, "--series", "tech-labor-and-ai", "--out", tmp_path,
        "--description", "One sentence.", "--author", "TLL",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    folder = tmp_path / "tech-labor-and-ai"
    assert check_json(folder) == check_json(seed_path)
    series = load_series(folder)
    assert (series.title, series.description, series.author) == (
        "Tech Labor and AI",
        "One sentence.",
        "TLL",
    )


def test_import_defaults_to_the_configured_content_dir(
    seed_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(tmp_path / "content"))
    reset_settings()
    result = run("content", "import", seed_path, "--series", "s", "--title", "My S")
    assert result.exit_code == 0, result.output
    assert load_series(tmp_path / "content" / "s").title == "My S"


def test_import_refuses_to_overwrite_without_force(seed_path: Path, tmp_path: Path) -> None:
    args = ("content", "import", seed_path, "--series", "s", "--out", tmp_path)
    assert run(*args).exit_code == 0
    result = run(*args, "--title", "Other")
    assert result.exit_code != 0
    assert isinstance(result.exception, ContentError)
    assert "already exists" in str(result.exception)
    assert load_series(tmp_path / "s").title == "S"
    assert run(*args, "--title", "Other", "--force").exit_code == 0
    assert load_series(tmp_path / "s").title == "Other"


def test_import_rejects_a_bad_series_slug(seed_path: Path, tmp_path: Path) -> None:
    result = run("content", "import", seed_path, "--series", "Bad Slug", "--out", tmp_path)
    assert isinstance(result.exception, ContentError)
    assert list(tmp_path.iterdir()) == []


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each bad input from the issue: path and a fragment of its one-line message."""
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Caf\u00e9 Title\n\nA paragraph about the caf\u00e9.\n".encode("latin-1"))
    untitled = tmp_path / "untitled.txt"
    untitled.write_text("Only sentences here.\nAnd another one.\n", encoding="utf-8")
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:  # sparse: cheap to make, and must be refused before reading
        f.truncate(MAX_FILE_BYTES + 1)
    bare_dir = tmp_path / "not-a-series"
    bare_dir.mkdir()
    return {
        "empty": (empty, "file is empty"),
        "non-utf8": (latin1, "not valid UTF-8 (byte 0xe9"),
        "no-title": (untitled, "no title found"),
        "too-big": (huge, "over the 5 MB limit"),
        "missing": (tmp_path / "missing.txt", "no such file or directory"),
        "dir-without-series-toml": (bare_dir, "no series.toml"),
    }


BAD = ["empty", "non-utf8", "no-title", "too-big", "missing", "dir-without-series-toml"]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_check_raises_content_error(case: str, tmp_path: Path) -> None:
    path, message = _bad_inputs(tmp_path)[case]
    result = run("content", "check", path, "--json")
    assert result.exit_code != 0
    assert isinstance(result.exception, ContentError)
    assert message in str(result.exception)
    assert "\n" not in str(result.exception)
    assert result.stdout == ""


def test_too_big_file_is_refused_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = _bad_inputs(tmp_path)["too-big"]

    def no_reading(self: Path) -> bytes:
        raise AssertionError("read before the size check")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(ContentError, match="5 MB"):
        load_series(path)


@pytest.mark.parametrize("case", BAD)
def test_bad_input_via_the_real_command_is_one_line_exit_2_nothing_written(
    case: str, tmp_path: Path
) -> None:
    path, message = _bad_inputs(tmp_path)[case]
    if case == "dir-without-series-toml":
        message = "is a directory, expected a plain-text manuscript"  # import takes files only
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "newsletter", "content", "import", str(path), "--series", "s",
         "--out", str(out)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message in lines[0]
    assert not out.exists()


def test_console_script_reports_overwrite_as_one_line(seed_path: Path, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("newsletter")
    if not script.exists():
        pytest.fail(f"console script missing at {script}; run pip install -e .")
    args = [str(script), "content", "import", str(seed_path), "--series", "s", "--out"]
    assert subprocess.run([*args, str(tmp_path)], capture_output=True, timeout=60).returncode == 0
    proc = subprocess.run([*args, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path / 's'} already exists; use --force to replace it"
    ]


def test_check_on_a_written_folder_round_trips_the_seed_as_pairs(
    seed_path: Path, tmp_path: Path
) -> None:
    run("content", "import", seed_path, "--series", "rt", "--out", tmp_path)
    assert as_pairs(load_series(tmp_path / "rt")) == expected_essays()


def test_check_prints_warnings_and_strict_fails_on_them(tmp_path: Path) -> None:
    corpus = Path(__file__).parent / "corpus"
    path = corpus / "13-two-sentence-line.txt"
    result = run("content", "check", path)
    assert result.exit_code == 0
    assert "warning: line 5 looks like a pull quote but has two sentences" in result.stdout
    assert run("content", "check", path, "--strict").exit_code == 1
    data = json.loads(run("content", "check", path, "--json").stdout)
    assert [(w["line"], w["essay"], w["block"], w["code"]) for w in data["warnings"]] == [
        (5, 1, 1, "two-sentences")
    ]
    assert run("content", "check", corpus / "01-one-line-per-block.txt", "--strict").exit_code == 0
