"""Fuzzing the two parsers editors and operators feed files to: the manuscript parser and
the CSV importer's validation. Shared by the short runs in the suite (tests/content,
tests/subscribers) and the 10,000-input runs of bench/fuzz.py.

Inputs mix plausible documents with hostile pieces (NUL and other controls, lone surrogates,
BOMs, CRLF/CR/U+2028 line ends, huge fields, quotes, formula prefixes, bidi controls) and raw
bytes or text. A run never stops at the first problem: every input is tried, and anything
that escapes other than a one-line `UserError` is recorded as a failure.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from newsletter.content.manuscript import parse_manuscript
from newsletter.content.textfiles import decode_text
from newsletter.core.db.session import transaction
from newsletter.core.errors import UserError
from newsletter.subscribers.importer import decode, import_rows, parse_rows

HOSTILE = [
    "\x00", "\x07", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\ud800", "\udfff", "\ufeff",
    "\ufffd", "\u2028", "\u2029", "\u202e", "\u2066", "\u200b", "\r", "\n", "\r\n", "\t",
    '"', "'", "“", "”", "«", "»", "> ", "# ", "=", "+", "-", "@", ",", ";", "…", "💌", "e\u0301",
]  # fmt: skip
NEWLINES = ["\n", "\r\n", "\r", "\n\n", "\r\n\r\n", "\u2028"]


def _with_hostile(base: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`base`, sometimes with hostile pieces spliced in."""
    pieces = st.lists(st.one_of(base, st.sampled_from(HOSTILE)), min_size=1, max_size=6)
    return st.one_of(base, pieces.map("".join))


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZàéîõüßÆçñ"
_words = st.lists(st.text(_LETTERS, min_size=1, max_size=10), min_size=1, max_size=12)
_sentence = _words.map(lambda w: " ".join(w).capitalize() + ".")
_paragraph = st.lists(_sentence, min_size=1, max_size=4).map(" ".join)
_title = st.one_of(
    _words.map(lambda w: " ".join(w[:6]).title()),
    _words.map(lambda w: "# " + " ".join(w[:8]) + "?"),
)
_quote = _sentence.flatmap(lambda s: st.sampled_from([f"> {s}", f"“{s}”", f'"{s}"', f"«{s}»"]))
# Over the csv module's 128 KiB field limit, sometimes.
_huge = st.sampled_from([2_000, 20_000, 140_000]).map(lambda n: "x" * n)
_body_line = st.one_of(_paragraph, _paragraph, _quote, st.just(""))


@st.composite
def _document(draw: st.DrawFn) -> str:
    """Essays (a title, then paragraphs and quotes), some lines with hostile pieces."""
    hostile = draw(st.booleans())
    line = _with_hostile(_body_line) if hostile else _body_line
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        lines.append(draw(_with_hostile(_title) if hostile else _title))
        lines.extend(draw(st.lists(line, min_size=1, max_size=5)))
    if draw(st.integers(0, 9)) == 0:
        lines.insert(draw(st.integers(0, len(lines))), draw(_huge))
    text = "".join(ln + draw(st.sampled_from(NEWLINES)) for ln in lines)
    return draw(st.sampled_from(["", "\ufeff"])) + text


manuscript_texts = _document()
# bytes: UTF-8 of a plausible manuscript (lone surrogates as surrogatepass), or anything
manuscript_inputs: st.SearchStrategy[str | bytes] = st.one_of(
    manuscript_texts,
    manuscript_texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=2_000),
    st.text(max_size=2_000),
)

_address = st.one_of(
    st.emails().map(str),
    st.tuples(_words, _words).map(lambda p: f"{p[0][0]}.{p[0][-1]}@{p[1][0]}.example"),
    st.text(max_size=30),
)
_cell = st.one_of(
    _with_hostile(_address),
    _with_hostile(_words.map(" ".join)),
    st.sampled_from(['=HYPERLINK("x")', "+1", "-1", "@SUM(A1)", "\t=1", '"', '""', ""]),
)
_plausible = st.one_of(
    st.emails(domains=st.sampled_from(["example.com", "example.org"])).map(str),
    _with_hostile(_words.map(" ".join)),
)
_header = st.sampled_from(
    ["email,name", "Email,Name", "name,email", "EMAIL", "email", "e-mail,name", "email,name,x", ""]
)


@st.composite
def _csv(draw: st.DrawFn) -> str:
    quoting = draw(st.sampled_from(["plain", "quoted", "mixed"]))

    def render(cell: str) -> str:
        if quoting == "quoted" or (quoting == "mixed" and draw(st.booleans())):
            return '"' + cell.replace('"', '""') + '"'
        return cell

    if draw(st.integers(0, 3)):  # mostly what an export looks like: address, name
        rows = draw(st.lists(st.lists(st.one_of(_plausible, _cell), min_size=2, max_size=2)))
        rows = [[r[0], r[1]] for r in rows]
        header = draw(st.sampled_from(["email,name", "Email,Name", "EMAIL,name", ""]))
    else:
        rows = draw(st.lists(st.lists(_cell, min_size=0, max_size=4), max_size=20))
        header = draw(_header)
    if rows and draw(st.integers(0, 9)) == 0:
        rows[draw(st.integers(0, len(rows) - 1))].append(draw(_huge))
    newline = draw(st.sampled_from(NEWLINES))
    body = newline.join(draw(st.sampled_from([",", ";", "\t"])).join(map(render, r)) for r in rows)
    return draw(st.sampled_from(["", "\ufeff"])) + header + newline + body


csv_texts = _csv()
csv_inputs: st.SearchStrategy[str | bytes] = st.one_of(
    csv_texts,
    csv_texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=2_000),
    st.text(max_size=2_000),
)


BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class Unsafe(Exception):
    """A message that is not one plain line: it would break or disguise terminal output."""


def check_one_line(text: str, what: str) -> None:
    """A message shown on a terminal or in a log: no line breaks, control characters or bidi
    overrides (which could reorder what an operator reads)."""
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in BIDI_CONTROLS:
            raise Unsafe(f"{what} holds U+{ord(ch):04X}")


def manuscript_target(data: str | bytes) -> None:
    """What `newsletter content check` and `series create --manuscript` do with a file."""
    text = decode_text(data, name="fuzz.txt") if isinstance(data, bytes) else data
    parse_manuscript(text, slug="fuzz", source="fuzz.txt")


def importer_target(data: str | bytes) -> None:
    """What `newsletter subscribers import` does before it touches the database."""
    text = decode(data, "fuzz.csv") if isinstance(data, bytes) else data
    good, bad = parse_rows(text, "fuzz.csv")
    for row in bad:
        check_one_line(row.reason, f"line {row.line}'s reason")
    for row in good:  # what `clean_name` and the address rules promise (Cc: header safety)
        if any(unicodedata.category(ch) == "Cc" for ch in row.email + row.name):
            raise Unsafe(f"line {row.line} kept a control character")


class _RollBack(Exception):
    """Raised inside the import's transaction so every input meets an empty table."""


def import_target(series_slug: str) -> Callable[[str | bytes], None]:
    """The whole `subscribers import`: validation, then the INSERTs into the database that
    NEWSLETTER_DATABASE_URL names (PostgreSQL refuses NUL in text, SQLite does not), rolled
    back afterwards. `--confirmed`, so no confirmation mail is queued."""

    def target(data: str | bytes) -> None:
        text = decode(data, "fuzz.csv") if isinstance(data, bytes) else data
        rows, bad = parse_rows(text, "fuzz.csv")
        try:
            with transaction() as session:
                import_rows(session, rows, bad, series_slug, confirmed=True)
                raise _RollBack
        except _RollBack:
            pass

    return target


@dataclass
class Failure:
    kind: str
    message: str
    example: str


@dataclass
class FuzzReport:
    inputs: int = 0
    refused: int = 0  # one-line user errors: the expected answer to a bad file
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)


def _record(report: FuzzReport, value: Any, exc: BaseException) -> None:
    report.failures.append(Failure(type(exc).__name__, str(exc)[:200], repr(value)[:300]))


def run(target: Callable[[Any], None], inputs: st.SearchStrategy[Any], examples: int) -> FuzzReport:
    """Try `examples` inputs; a `UserError` with a one-line message is a pass."""
    report = FuzzReport()

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(inputs)
    def each(value: Any) -> None:
        report.inputs += 1
        try:
            target(value)
        except UserError as exc:
            report.refused += 1
            try:
                check_one_line(str(exc), "the error message")
            except Unsafe as unsafe:
                _record(report, value, unsafe)
        except Exception as exc:  # noqa: BLE001 - every escape is what we are counting
            _record(report, value, exc)

    started = time.perf_counter()
    each()
    report.seconds = time.perf_counter() - started
    return report


TARGETS = {
    "manuscript": (manuscript_target, manuscript_inputs),
    "importer": (importer_target, csv_inputs),
}
