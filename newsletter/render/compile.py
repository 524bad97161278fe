"""MJML → HTML through mjml-python (the Rust `mrml` binding, about 0.1 ms per issue).

Kept in one function so that every compile goes through one place: tests count calls here
to prove that personalising a message never recompiles.
"""

from __future__ import annotations

from mjml import mjml2html


def compile_mjml(source: str) -> str:
    """Compile MJML to HTML.

    `fonts={}` stops mrml from adding its default Google Fonts `<link>`/`@import` (it does so
    for any font-family naming Roboto, Lato, ...): the mail must fetch nothing remote.
    Comments are dropped to stay well inside the size budget; Outlook conditionals survive.
    """
    return mjml2html(source, disable_comments=True, fonts={})
