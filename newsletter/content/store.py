"""The canonical series folder: ``content/<series-slug>/`` on disk.

Layout::

    content/tech-labor-and-ai/
        series.toml          slug, title, description, author (+ any extra keys, kept)
        01-<essay-slug>.md   one Markdown file per essay, see `markdown.py`
        02-<essay-slug>.md

The number prefix orders the essays and must run 1..N without gaps, so a missing file is an
error rather than a silently shorter series. Writing is atomic: the folder is built in a
hidden temporary sibling and renamed into place, so a failure never leaves half a series
where render and delivery would pick it up.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import tomli_w

from newsletter.content.characters import check_series, check_series_fields
from newsletter.content.errors import ContentError
from newsletter.content.markdown import parse_essay, render_essay
from newsletter.content.model import Essay, Series
from newsletter.content.slugs import is_slug, title_from_slug
from newsletter.content.textfiles import read_text

SERIES_FILE = "series.toml"
SERIES_KEYS = ("slug", "title", "description", "author")
ESSAY_FILE_RE = re.compile(r"^(?P<number>\d+)-(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)\.md$")


def essay_filename(essay: Essay) -> str:
    return f"{essay.number:02d}-{essay.slug}.md"


def read_series_dir(folder: Path) -> Series:
    """Load a series folder; every problem is a `ContentError` naming the file."""
    toml_path = folder / SERIES_FILE
    if not toml_path.is_file():
        raise ContentError(f"{folder}: not a series folder (no {SERIES_FILE})")
    meta = _read_series_toml(toml_path)
    slug = meta.pop("slug", folder.name)
    if not is_slug(slug):
        raise ContentError(f"{toml_path}: invalid slug {slug!r}")
    essays = tuple(_read_essays(folder))
    if not essays:
        raise ContentError(f"{folder}: no essays (expected files named NN-slug.md)")
    series = Series(
        slug=slug,
        title=meta.pop("title", None) or title_from_slug(slug),
        essays=essays,
        description=meta.pop("description", ""),
        author=meta.pop("author", ""),
        extra=meta,
    )
    check_series_fields(series, str(toml_path))  # TOML allows "\u0000" escapes
    return series


def write_series(series: Series, out: Path, *, force: bool = False) -> Path:
    """Write `series` to ``out/<slug>/`` and return that path.

    Refuses to replace an existing folder unless `force`. The new folder is complete before
    it becomes visible; with `force` the old one is swapped out and then deleted.
    """
    validate_for_writing(series)
    target = out / series.slug
    if target.exists() and not force:
        raise ContentError(f"{target} already exists; use --force to replace it")
    try:
        with _staging_dir(out, series.slug) as staging:
            (staging / SERIES_FILE).write_text(_series_toml(series), encoding="utf-8")
            for essay in series.essays:
                text = render_essay(essay)
                (staging / essay_filename(essay)).write_text(text, encoding="utf-8")
            _swap_into_place(staging, target)
    except OSError as exc:
        raise ContentError(f"{target}: cannot write ({exc.strerror or exc})") from None
    return target


def validate_for_writing(series: Series) -> None:
    """Catch what could not be read back identically (a series built in code or the DB)."""
    if not is_slug(series.slug):
        raise ContentError(f"invalid series slug {series.slug!r}")
    if not series.essays:
        raise ContentError(f"series {series.slug!r} has no essays")
    numbers = [e.number for e in series.essays]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ContentError(f"series {series.slug!r}: essay numbers must run 1..N, got {numbers}")
    for essay in series.essays:
        if not is_slug(essay.slug):
            raise ContentError(f"essay {essay.number}: invalid slug {essay.slug!r}")
        texts = [essay.title, *(b.text for b in essay.blocks)]
        if any(not t or t != t.strip() or "\n" in t for t in texts):
            raise ContentError(
                f"essay {essay.number}: title and blocks must be non-empty, trimmed, one line"
            )
        if not essay.paragraphs:
            raise ContentError(f"essay {essay.number}: no paragraphs")
    check_series(series, f"series {series.slug!r}")


def _read_series_toml(path: Path) -> dict:
    try:
        meta = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ContentError(f"{path}: invalid TOML ({exc})") from None
    for key in SERIES_KEYS:
        if key in meta and not isinstance(meta[key], str):
            raise ContentError(f"{path}: {key!r} must be a string")
    return meta


def _read_essays(folder: Path) -> Iterator[Essay]:
    found: dict[int, tuple[str, Path]] = {}
    for path in sorted(folder.glob("*.md")):
        match = ESSAY_FILE_RE.match(path.name)
        if not match:
            raise ContentError(f"{path}: essay files must be named NN-slug.md (e.g. 01-intro.md)")
        number = int(match["number"])
        if number in found:
            raise ContentError(f"{path}: essay number {number} used twice")
        found[number] = (match["slug"], path)
    for expected, number in enumerate(sorted(found), start=1):
        if number != expected:
            raise ContentError(f"{folder}: essay {expected:02d} is missing (numbers run 1..N)")
        slug, path = found[number]
        yield parse_essay(read_text(path), number=number, slug=slug, source=str(path))


def _series_toml(series: Series) -> str:
    data = {
        "slug": series.slug,
        "title": series.title,
        "description": series.description,
        "author": series.author,
    }
    data.update({k: v for k, v in series.extra.items() if k not in data})
    return tomli_w.dumps(data)


@contextmanager
def _staging_dir(out: Path, slug: str) -> Iterator[Path]:
    """A temp folder next to the target (same file system, so rename is atomic).

    Removed on any error, as is `out` itself if this call created it.
    """
    created_out = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{slug}.", suffix=".tmp", dir=out))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created_out:
            shutil.rmtree(out, ignore_errors=True)
        raise


def _swap_into_place(staging: Path, target: Path) -> None:
    staging.chmod(0o755)  # mkdtemp makes it 0700; the content is not secret
    if not target.exists():
        staging.rename(target)
        return
    old = target.with_name(f".{target.name}.{os.getpid()}.old")
    target.rename(old)
    try:
        staging.rename(target)
    except OSError:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)
