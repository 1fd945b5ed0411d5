"""Settings → Brand topics: each brand's industry and own complaint topics, and how the topics fare.

Admins edit; everyone else in the organisation reads. The write goes through
`brand_topics.save_brand_topics` (audited); the evaluation reads agents' topic corrections.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from hubbub.analysis.brand_topics import (
    TopicsError,
    default_topic_names,
    evaluate_brand_topics,
    format_topics_text,
    parse_topics_text,
    save_brand_topics,
)
from hubbub.tenancy.models import Brand, Industry, Role
from hubbub.tenancy.scoping import Scope, get_scoped_or_404, require_role
from hubbub.web.views.common import scoped_view


def _rows(scope: Scope, typed: dict[int, tuple[str, str, str]]) -> list[dict[str, Any]]:
    rows = []
    for brand in scope.brands():
        industry, text, error = typed.get(brand.pk, (brand.industry, format_topics_text(brand), ""))
        rows.append(
            {
                "brand": brand,
                "industry": industry,
                "text": text,
                "error": error,
                "default": default_topic_names(industry),
                "evaluation": evaluate_brand_topics(brand),
            }
        )
    return rows


@scoped_view
def brand_topics(request: HttpRequest, scope: Scope) -> HttpResponse:
    """GET: every brand's topic settings; POST (admin): save one brand's industry and topic list."""
    typed: dict[int, tuple[str, str, str]] = {}
    status = 200
    if request.method == "POST":
        require_role(scope, Role.ADMIN)
        brand_id = request.POST.get("brand", "")
        if not brand_id.isdigit():
            raise Http404("Not found")
        brand = get_scoped_or_404(Brand.objects.all(), scope, brand_field="id", pk=int(brand_id))
        industry = request.POST.get("industry", "")
        text = request.POST.get("topics", "")
        try:
            save_brand_topics(scope, brand, industry, parse_topics_text(text))
        except TopicsError as exc:
            typed[brand.pk] = (industry, text, str(exc))
            status = 400
        else:
            messages.success(request, f"Saved the topics of {brand.name}.")
            return redirect("analysis_topics")
    return render(
        request,
        "analysis/topics.html",
        {"rows": _rows(scope, typed), "industries": Industry.choices},
        status=status,
    )
