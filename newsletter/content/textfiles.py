"""Reading editor-supplied text files defensively.

Manuscripts come from word processors and mail attachments: they may carry a UTF-8 BOM,
Windows or old-Mac line endings, or not be UTF-8 at all. Everything that reads content goes
through `read_text` so those cases give one clear `ContentError` and the size cap is checked
before a single byte is read.
"""

from __future__ import annotations

from pathlib import Path

from newsletter.content.errors import ContentError

MAX_FILE_BYTES = 5 * 1024 * 1024


def read_text(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The file's text with the BOM removed and line endings normalised to ``\\n``."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ContentError(f"{path}: no such file or directory") from None
    except OSError as exc:
        raise ContentError(f"{path}: cannot read ({exc.strerror})") from None
    if path.is_dir():
        raise ContentError(f"{path}: is a directory, expected a text file")
    if size > max_bytes:
        raise ContentError(
            f"{path}: file is {size / 1_048_576:.1f} MB, over the {max_bytes // 1_048_576} MB limit"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ContentError(f"{path}: cannot read ({exc.strerror})") from None
    return decode_text(data, name=str(path))


def decode_text(data: bytes, *, name: str) -> str:
    """Strict UTF-8 (BOM allowed); guessing another encoding would silently corrupt text."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ContentError(
            f"{name}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8"
        ) from None
    return normalize_newlines(text)


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR become LF; a BOM left inside decoded text is dropped too."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
