"""`load_series`: one entry point for both kinds of content on disk.

Editors hand over plain-text manuscripts; the project keeps series folders. Commands such as
`content check` and `preview` accept either, so the choice is made here by looking at the
path, not by a flag the user has to remember.
"""

from __future__ import annotations

from pathlib import Path

from newsletter.content.errors import ContentError
from newsletter.content.manuscript import Analysis, analyse_manuscript
from newsletter.content.model import Series
from newsletter.content.slugs import slugify
from newsletter.content.store import read_series_dir
from newsletter.content.textfiles import read_text


def load_series(path: Path) -> Series:
    """A series from a manuscript file or a series folder (``series.toml`` + ``NN-slug.md``).

    A manuscript's series slug comes from its file name; use `load_manuscript` to choose it.
    """
    path = Path(path)
    if path.is_dir():
        return read_series_dir(path)
    if not path.exists():
        raise ContentError(f"{path}: no such file or directory")
    return load_manuscript(path, slug=slugify(path.stem) or "series")


def load_manuscript(path: Path, *, slug: str, title: str | None = None) -> Series:
    """Read and parse one plain-text manuscript file (size-checked, strict UTF-8)."""
    path = Path(path)
    return analyse_file(path, slug=slug, title=title).series


def analyse_path(path: Path) -> Analysis:
    """Like `load_series`, with the parser's warnings (a series folder has none: it is
    already structured, nothing in it is a guess)."""
    path = Path(path)
    if path.is_dir():
        return Analysis(read_series_dir(path), ())
    if not path.exists():
        raise ContentError(f"{path}: no such file or directory")
    return analyse_file(path, slug=slugify(path.stem) or "series")


def analyse_file(path: Path, *, slug: str, title: str | None = None) -> Analysis:
    """Read and analyse one plain-text manuscript file (size-checked, strict UTF-8)."""
    path = Path(path)
    if path.is_dir():
        raise ContentError(f"{path}: is a directory, expected a plain-text manuscript")
    return analyse_manuscript(read_text(path), slug=slug, title=title, source=str(path))
