"""/api/v1/manuscripts/parse: the parser as a service, for editors' tools and the studio.

It answers exactly what `newsletter content check --json` prints (`Analysis.to_dict`), so a
script can check a manuscript without a terminal on the server. It creates nothing: parse
errors are the editor's to fix and come back as a 4xx with the parser's one-line message.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from newsletter.content import analyse_manuscript
from newsletter.web.api.models import NEW_SLUG_PATTERN
from newsletter.web.api.params import BODY_ERRORS, editor_router

router = editor_router()

MAX_MANUSCRIPT_CHARS = 900_000  # under the 1 MB body cap, so a longer text is a 422, not a 413


class ManuscriptIn(BaseModel):
    """A plain-text manuscript (see the README's "Manuscript format")."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1, max_length=MAX_MANUSCRIPT_CHARS, json_schema_extra={"format": "manuscript"}
    )
    slug: str = Field(
        "manuscript",
        max_length=100,
        pattern=NEW_SLUG_PATTERN,
        description="series slug; only checked, essays' slugs come from their titles",
    )


class BlockOut(BaseModel):
    type: Literal["paragraph", "pull_quote"]
    text: str


class EssayOut(BaseModel):
    number: int
    title: str
    slug: str
    blocks: list[BlockOut]


class WarningOut(BaseModel):
    line: int = Field(description="1-based line in the text")
    essay: int = Field(description="1-based essay number")
    block: int = Field(description="0-based index in the essay's blocks")
    code: str = Field(description="two-sentences, continuation, quoted-line or title-like")
    message: str


class ParseOut(BaseModel):
    """The `content check --json` document."""

    essays: list[EssayOut]
    warnings: list[WarningOut]


@router.post(
    "/manuscripts/parse",
    response_model=ParseOut,
    responses=BODY_ERRORS,
)
def parse(body: ManuscriptIn) -> ParseOut:
    """Parse a manuscript into essays and blocks, with warnings on close calls."""
    analysis = analyse_manuscript(body.text, slug=body.slug, source="manuscript")
    return ParseOut.model_validate(analysis.to_dict())
