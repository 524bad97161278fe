"""Fixtures for render tests: the seed series, hand-built series and sample values."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newsletter.content.model import Series
from newsletter.render import clear_cache
from tests.support.factories import build_series

ROOT = Path(__file__).resolve().parents[2]
SEED_FOLDER = ROOT / "content" / "tech-labor-and-ai"

FIXED_VALUES = {
    "name": "Ana Reader",
    "email": "ana.reader@example.com",
    "unsubscribe_url": "https://letters.example.com/unsubscribe/tok-unsub-123",
    "manage_url": "https://letters.example.com/manage/tok-manage-456",
    "web_url": "https://letters.example.com/s/tech-labor-and-ai/1",
}


@pytest.fixture(autouse=True)
def _fresh_render_cache() -> Iterator[None]:
    """Each test compiles from scratch, so call counts and settings never leak between tests."""
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def seed_series(seed_path: Path) -> Series:
    """The seed as shipped in content/ (the import of the seed manuscript)."""
    from newsletter.content import load_series

    return load_series(SEED_FOLDER if SEED_FOLDER.exists() else seed_path)


@pytest.fixture
def values() -> dict[str, str]:
    return dict(FIXED_VALUES)


@pytest.fixture
def small_series() -> Series:
    blocks = (
        ("paragraph", "First paragraph. It has two sentences."),
        ("pull_quote", "A line worth repeating."),
        ("paragraph", "Closing paragraph."),
    )
    return build_series(("Opening", blocks), ("Middle", blocks), ("Ending", blocks))


@pytest.fixture
def make_series() -> Callable[..., Series]:
    """`make_series((title, ((type, text), ...)), ..., title=...)` builds a Series by hand."""
    return build_series
