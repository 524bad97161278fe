"""The content model: a series is ordered essays; an essay is a title and ordered blocks.

Plain frozen dataclasses so that the parser, the Markdown store, the renderer and the
database snapshot all share one shape and can compare for equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockType = Literal["paragraph", "pull_quote"]


@dataclass(frozen=True)
class Block:
    type: BlockType
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"type": self.type, "text": self.text}


@dataclass(frozen=True)
class Essay:
    number: int
    title: str
    slug: str
    blocks: tuple[Block, ...]
    subject: str | None = None  # defaults to the title
    preheader: str | None = None  # defaults to the first sentence

    @property
    def paragraphs(self) -> list[Block]:
        return [b for b in self.blocks if b.type == "paragraph"]

    @property
    def pull_quotes(self) -> list[Block]:
        return [b for b in self.blocks if b.type == "pull_quote"]

    def to_dict(self) -> dict:
        return {
            "number": self.number,
            "title": self.title,
            "slug": self.slug,
            "blocks": [b.to_dict() for b in self.blocks],
        }


@dataclass(frozen=True)
class Series:
    slug: str
    title: str
    essays: tuple[Essay, ...]
    description: str = ""
    author: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    def essay(self, number: int) -> Essay:
        for essay in self.essays:
            if essay.number == number:
                return essay
        raise KeyError(number)
