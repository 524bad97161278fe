"""The one Jinja2 environment for email templates, and the personalisation slot markers.

Autoescape is chosen by file extension: `.mjml`/`.html` templates escape everything (an essay
containing `<script>` shows it as text), `.txt` templates (subjects, text parts) do not,
because plain text has no markup to protect.

Per-subscriber values are not known when an issue is compiled, so templates call
`slot("name")` instead, which prints a marker that `personalise.py` later splits at. The
markers, and why essay text can never forge one, are in `markers.py`; an issue render passes
its own checked `slot` in the context, which takes precedence over the global set here.
"""

from __future__ import annotations

import functools
from email.utils import parseaddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from newsletter.core.settings import Settings
from newsletter.render.markers import SLOT_PREFIX, SLOT_RE, SLOT_SUFFIX, slot

__all__ = [
    "SANS",
    "SERIF",
    "SLOT_PREFIX",
    "SLOT_RE",
    "SLOT_SUFFIX",
    "common_context",
    "get_environment",
    "one_line",
    "slot",
]

# System font stacks only: nothing is fetched from the internet to render the mail.
SERIF = "Charter, 'Bitstream Charter', 'Sitka Text', Cambria, Georgia, 'Times New Roman', serif"
SANS = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif"


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
    return sender_context(settings.from_, settings.postal_address)


def sender_context(sender: str, postal_address: str, footer: str = "") -> dict[str, str]:
    """The footer's values for one sender: a series may have its own (see `render_issue`)."""
    name, address = parseaddr(sender)
    return {
        "sender_name": name or address,
        "postal_address": postal_address,
        "footer_text": footer,
    }


def one_line(text: str) -> str:
    """A subject line: rendered from a template but never more than one header line."""
    return " ".join(text.split())
