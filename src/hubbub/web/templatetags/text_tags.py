"""Template filters for text that customers and networks wrote.

`breakable`: a run of more than `LONG_RUN` characters without a space (a pasted token, a URL, or text in
a script written without spaces, such as Thai) is wrapped in `<span class="longword">`, which the
stylesheet lets break between any two characters. Why: to wrap one 50,000-character run of Thai, Chromium
looked for word boundaries with its dictionary over the whole run and froze the tab for 16 s
(measured; `overflow-wrap` does not change that), while breaking it anywhere takes under a second. Runs of
ordinary length keep the normal rules, so words and sentences are not split mid-word.
"""

from __future__ import annotations

import re

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

LONG_RUN = 200
_LONG = re.compile(rf"\S{{{LONG_RUN + 1},}}")


@register.filter(needs_autoescape=True)
def breakable(value: object, autoescape: bool = True) -> SafeString:
    """The text, escaped, with its over-long runs wrapped (see the module docstring); chain `linebreaksbr`
    after it for line breaks."""
    text = str(value)
    escape = conditional_escape if autoescape else str
    parts: list[str] = []
    position = 0
    for run in _LONG.finditer(text):
        parts.append(escape(text[position : run.start()]))
        parts.append(format_html('<span class="longword">{}</span>', run.group()))
        position = run.end()
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))  # every piece escaped above
