"""Rendering: Jinja2 → MJML → HTML plus a text part; compile once, personalise many.

`render_issue` is what delivery calls per message (cached); `render_email` renders one-off
transactional mail such as the subscription confirmation.
"""

from newsletter.render.issue import RenderedIssue, clear_cache, render_issue
from newsletter.render.samples import sample_values
from newsletter.render.transactional import render_email, render_email_mjml

__all__ = [
    "RenderedIssue",
    "clear_cache",
    "render_email",
    "render_email_mjml",
    "render_issue",
    "sample_values",
]
