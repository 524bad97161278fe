"""The one Jinja2 environment for email templates, and the personalisation slot markers.

Autoescape is chosen by file extension: `.mjml`/`.html` templates escape everything (an essay
containing `<script>` shows it as text), `.txt` templates (subjects, text parts) do not,
because plain text has no markup to protect.

Per-subscriber values are not known when an issue is compiled, so templates call
`slot("name")` instead. That prints a marker made only of letters, digits and underscores:
characters that neither Jinja, MJML nor HTML attribute quoting ever rewrite, so the marker
survives compilation byte for byte and can be split on afterwards (see `personalise.py`).
"""

from __future__ import annotations

import functools
import re
from email.utils import parseaddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from newsletter.core.settings import Settings

SLOT_PREFIX = "zzNLslot_"
SLOT_SUFFIX = "_tolsLNzz"
SLOT_RE = re.compile(re.escape(SLOT_PREFIX) + r"([a-z_]+?)" + re.escape(SLOT_SUFFIX))

# System font stacks only: nothing is fetched from the internet to render the mail.
SERIF = "Charter, 'Bitstream Charter', 'Sitka Text', Cambria, Georgia, 'Times New Roman', serif"
SANS = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif"


def slot(name: str) -> Markup:
    """A marker that `personalise()` later replaces with this subscriber's value."""
    if not re.fullmatch(r"[a-z_]+", name):
        raise ValueError(f"slot names are lowercase letters and underscores: {name!r}")
    return Markup(f"{SLOT_PREFIX}{name}{SLOT_SUFFIX}")


@functools.lru_cache(maxsize=8)
def get_environment(templates_dir: Path) -> Environment:
    """The email environment rooted at `<templates_dir>/email`, built once per directory."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir / "email")),
        autoescape=select_autoescape(
            enabled_extensions=("mjml", "html"),
            disabled_extensions=("txt",),
            default_for_string=True,
            default=True,
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # Trusted constants, used inside double-quoted attributes: their single quotes stay as-is.
    env.globals.update(slot=slot, fonts={"serif": Markup(SERIF), "sans": Markup(SANS)})
    return env


def common_context(settings: Settings) -> dict[str, str]:
    """Values every email shows: who sends it and the sender's postal address."""
    name, address = parseaddr(settings.from_)
    return {"sender_name": name or address, "postal_address": settings.postal_address}


def one_line(text: str) -> str:
    """A subject line: rendered from a template but never more than one header line."""
    return " ".join(text.split())
