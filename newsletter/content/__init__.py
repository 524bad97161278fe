"""Content: the model, the plain-text manuscript parser and the Markdown series store."""

from newsletter.content.model import Block, Essay, Series

__all__ = ["Block", "Essay", "Series"]
