"""One-off transactional mail (e.g. the double opt-in confirmation).

These go to one person each, so there is nothing to share between messages: the context is
rendered straight into the templates (escaped) and compiled per call, which costs about a
tenth of a millisecond.
"""

from __future__ import annotations

from typing import Any

from newsletter.core.settings import get_settings
from newsletter.render.compile import compile_mjml
from newsletter.render.environment import common_context, get_environment, one_line
from newsletter.render.personalise import greeting


def render_email(name: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, html, text) from `templates/email/<name>/`.

    The sender's name and postal address are added to `context`, and `greeting` is derived
    from an optional `name` entry; explicit context keys win.
    """
    settings = get_settings()
    env = get_environment(settings.templates_dir)
    full = {
        **common_context(settings),
        "greeting": greeting(str(context.get("name") or "")),
        **context,
    }
    subject = one_line(env.get_template(f"{name}/subject.txt").render(full))
    html = compile_mjml(env.get_template(f"{name}/body.mjml").render(full))
    text = env.get_template(f"{name}/body.txt").render(full)
    return subject, html, text


def render_email_mjml(name: str, context: dict[str, Any]) -> str:
    """The MJML source of a transactional email (for validation and previews)."""
    settings = get_settings()
    env = get_environment(settings.templates_dir)
    full = {**common_context(settings), "greeting": greeting(str(context.get("name") or ""))}
    return env.get_template(f"{name}/body.mjml").render({**full, **context})
