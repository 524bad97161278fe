"""Small HTML inspection helpers for render tests (stdlib html.parser, no extra deps)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"meta", "br", "img", "link", "hr", "input", "col", "source", "wbr", "area", "base"}


class ClassText(HTMLParser):
    """Collects the text inside every element carrying a given CSS class."""

    def __init__(self, css_class: str) -> None:
        super().__init__()
        self.css_class = css_class
        self.depth = 0  # >0 while inside a matching element
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        if self.depth:
            self.depth += 1
        elif self.css_class in classes:
            self.depth = 1
            self.found.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.found[-1] += data


def texts_with_class(html: str, css_class: str) -> list[str]:
    """Whitespace-normalised text of each element with `css_class`."""
    parser = ClassText(css_class)
    parser.feed(html)
    return [" ".join(text.split()) for text in parser.found]


def visible_text(html: str) -> str:
    """The body's text with tags dropped and whitespace collapsed (good enough for asserts)."""
    body = html.split("<body", 1)[1]
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())
