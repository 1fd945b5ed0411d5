"""Plain text of the HTML that networks send (feed entries, e-mail bodies, review sites).

Why here: a connector stores what a customer wrote as text, escaped on output like every message; nothing a
network sends is rendered as HTML. So markup is dropped, script and style content left out (it is not what
anyone wrote), entities decoded once, and block elements kept apart as paragraphs. Stdlib only: `html.parser`
never fetches, executes or resolves anything.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _TextOnly(HTMLParser):
    """The text of an HTML fragment: tags dropped, script and style content left out, blocks on their own lines."""

    _SKIP = {"script", "style", "template", "noscript"}
    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "figure", "pre"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, whitespace folded, paragraphs kept apart by one blank line."""
    parser = _TextOnly()
    parser.feed(fragment or "")
    parser.close()
    text = "".join(parser.parts)  # entities are decoded once, by the parser (convert_charrefs)
    lines = [re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
