"""`{% correct_labels_form message %}`: the label-correction form of the conversation view.

An inclusion tag keeps the form (and its choices) owned by the analysis app,
so the inbox's thread template only needs one line to show it.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from hubbub.analysis.reasons import spans
from hubbub.analysis.views import label_choices

register = template.Library()


@register.inclusion_tag("analysis/_correct_form.html", takes_context=True)
def correct_labels_form(context: template.Context, message: Any) -> dict[str, Any]:
    choices = label_choices(getattr(message, "brand", None))
    return {"m": message, "label_choices": choices, "csrf_token": context.get("csrf_token")}


@register.simple_tag
def why_highlight(message: Any) -> SafeString:
    """The message text (escaped) with every word or emoji its "why" cites marked in place (`<mark>`)."""
    text = str(getattr(message, "text", "") or "")
    explanations = (getattr(message, "analysis", None) or {}).get("explanations") or {}
    words = [w for ws in explanations.values() if isinstance(ws, list) for w in ws if isinstance(w, str)]
    out: list[str] = []
    last = 0
    for start, end in spans(text, words):
        out.append(conditional_escape(text[last:start]))
        out.append(format_html('<mark class="why-word">{}</mark>', text[start:end]))
        last = end
    out.append(conditional_escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308  every piece above is escaped
