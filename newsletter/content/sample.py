"""The sample series shipped inside the repository: its manuscript and the folder made from it.

`content/tech-labor-and-ai/` was imported from `content/manuscripts/tech-labor-and-ai.txt`
with `newsletter content import`; the demo, the tests and the benchmarks all read this copy,
so a clone needs nothing from outside the repository.
"""

from __future__ import annotations

from newsletter.core.settings import PROJECT_ROOT

SAMPLE_SLUG = "tech-labor-and-ai"
SAMPLE_MANUSCRIPT = PROJECT_ROOT / "content" / "manuscripts" / f"{SAMPLE_SLUG}.txt"
