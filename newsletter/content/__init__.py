"""Content: the model, the plain-text manuscript parser and the Markdown series store.

Public API (other features code against these names):

* `load_series(path)` – a manuscript file or a ``content/<slug>/`` folder → `Series`
* `parse_manuscript(text, slug=…, title=None)` – manuscript text → `Series`
* `analyse_manuscript(text, slug=…)` – → `Analysis(series, warnings)`; each `ParseWarning`
  has `line`, `essay`, `block`, `code`, `message` (the close calls `content check` prints)
* `write_series(series, out, force=False)` – atomically write ``out/<slug>/``
* `check_series(series, source)` – refuse control characters (every loader already does)
* `ContentError` – every bad-input error (a `UserError`: one line, exit 2)
"""

from newsletter.content.characters import check_series
from newsletter.content.errors import ContentError
from newsletter.content.load import analyse_path, load_manuscript, load_series
from newsletter.content.manuscript import Analysis, analyse_manuscript, parse_manuscript
from newsletter.content.model import Block, Essay, Series
from newsletter.content.pullquotes import ParseWarning
from newsletter.content.slugs import slugify, title_from_slug
from newsletter.content.store import write_series

__all__ = [
    "Analysis",
    "ParseWarning",
    "analyse_manuscript",
    "analyse_path",
    "Block",
    "ContentError",
    "Essay",
    "Series",
    "check_series",
    "load_manuscript",
    "load_series",
    "parse_manuscript",
    "slugify",
    "title_from_slug",
    "write_series",
]
