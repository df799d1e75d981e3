"""Incident update bodies: markdown to HTML with raw HTML disabled."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

# "js-default" is CommonMark with raw HTML off and unsafe link schemes
# (javascript:, vbscript:, data: other than images) refused by validateLink.
_MD = MarkdownIt("js-default")


def render(text: str) -> Markup:
    """Safe HTML for ``text``: any HTML in it is shown as text, never interpreted."""
    return Markup(_MD.render(text))
