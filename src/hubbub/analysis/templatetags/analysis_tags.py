"""`{% correct_labels_form message %}`: the label-correction form of the conversation view.

An inclusion tag keeps the form (and its choices) owned by the analysis app,
so the inbox's thread template only needs one line to show it.
"""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("analysis/_correct_form.html", takes_context=True)
def correct_labels_form(context: template.Context, message: Any) -> dict[str, Any]:
    from hubbub.analysis.views import label_choices

    return {"m": message, "label_choices": label_choices(), "csrf_token": context.get("csrf_token")}
