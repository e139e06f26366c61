"""A section's Markdown as safe HTML: markdown-it-py (CommonMark, raw HTML off: it is shown as
text) and then nh3 (an allow-list: no script, no event attributes, links only to http(s) and
mail, no images). Headings sit below the exhibition's (``#`` becomes ``h3``)."""
from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

from .model import MAX_TEXT

TAGS = {"p", "em", "strong", "a", "ul", "ol", "li", "blockquote", "h3", "h4", "h5", "h6", "code", "pre", "hr",
        "br", "table", "thead", "tbody", "tr", "th", "td", "s"}
SCHEMES = {"http", "https", "mailto"}
_md = None


def _parser() -> MarkdownIt:
    global _md
    if _md is None:
        md = MarkdownIt("commonmark", {"html": False, "maxNesting": 20}).enable(["table", "strikethrough"])

        def shift_headings(state):  # the page has h1 (title) and h2 (sections): text headings from h3
            for token in state.tokens:
                if token.type in ("heading_open", "heading_close"):
                    token.tag = f"h{min(6, int(token.tag[1]) + 2)}"
        md.core.ruler.push("shift_headings", shift_headings)
        _md = md
    return _md


def render(text: str) -> str:
    """Sanitised HTML of Markdown ``text`` (cut at MAX_TEXT characters)."""
    html = _parser().render((text or "")[:MAX_TEXT])
    return nh3.clean(html, tags=TAGS, attributes={"a": {"href", "title"}},  # no style: the CSP allows none inline
                     url_schemes=SCHEMES, link_rel="noopener noreferrer nofollow", strip_comments=True)
