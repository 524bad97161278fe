"""The seed manuscript as plain data, read straight from the file (not via the parser),
so tests compare the parser against what an editor sees in the text."""

from __future__ import annotations

from newsletter.content.sample import SAMPLE_MANUSCRIPT

SEED = SAMPLE_MANUSCRIPT
BLOCK_TYPES = ["paragraph", "paragraph", "pull_quote", "paragraph"]


def seed_lines() -> list[str]:
    """The non-empty lines of the seed, trimmed: titles and blocks, one per line."""
    return [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]


def expected_essays() -> list[tuple[str, list[tuple[str, str]]]]:
    """(title, [(type, text)…]) per essay: each essay is a title line plus four block lines."""
    lines = seed_lines()
    assert len(lines) == 20, "the seed is 4 essays of a title and 4 blocks"
    return [
        (lines[i], list(zip(BLOCK_TYPES, lines[i + 1 : i + 5], strict=True)))
        for i in range(0, 20, 5)
    ]


def as_pairs(series) -> list[tuple[str, list[tuple[str, str]]]]:
    return [(e.title, [(b.type, b.text) for b in e.blocks]) for e in series.essays]
