"""The console's help pages: how a manuscript is read.

The worked example is parsed by the real parser on every request, so the page shows what the
studio will do with the same text rather than a description that can drift from the code.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from newsletter import content
from newsletter.web.auth import session_user
from newsletter.web.templating import render

router = APIRouter(
    prefix="/admin/help",
    include_in_schema=False,
    tags=["console:any"],
    dependencies=[Depends(session_user)],
)

EXAMPLE = """\
The Quiet Hours

Most of the city sleeps between three and five, and the people who keep
it running in those hours are the ones nobody thanks. They drive the
empty buses and bake the bread that appears on counters at six.
Nobody thanks the people who keep the city running.
The baker on our corner has done this for thirty years. She says the
trick is not to fight the hour but to belong to it, and that the hour is
generous to those who do.

> The night belongs to whoever stays awake for it.

By six the first commuters arrive, and the night's work disappears into
the morning as if it had never been done at all.

# Why Do We Wake?

Her hands kept folding the dough while she spoke, a rhythm older than
the conversation and steadier than either of us.

Waking is a habit, and habits can be learned. So can sleep.

The body keeps its own calendar, and after enough mornings it stops
asking permission. What started as discipline becomes a kind of weather,
something that simply happens.

Overheard at Six

A man was already waiting at the door when the lights came on, his collar
turned up against the cold and his hands deep in his pockets.

"Are you open yet?"

He asked it twice.

The baker pointed at the clock above the counter and went back to the ovens
without a word, and the man laughed and settled in to wait.
"""


@router.get("/manuscript")
def manuscript(request: Request) -> Response:
    analysis = content.analyse_manuscript(EXAMPLE, slug="example", source="example")
    lines = EXAMPLE.splitlines()
    context = {
        "example": EXAMPLE,
        "numbered": list(enumerate(lines, start=1)),
        "essays": analysis.series.essays,
        "warnings": analysis.warnings,
        "section": "series",
    }
    return render(request, "admin/help_manuscript.html", context)
