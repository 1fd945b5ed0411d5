"""Insights pages: voice of the customer (social mentions against survey responses).

Views only parse input, check the role (analysts and up) and call services.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hubbub import upload_limits
from hubbub.insights import importing
from hubbub.insights.voc import Measure, compare
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.web.views.common import scoped_view


def _brand(request: HttpRequest, scope: Scope) -> int | None:
    """The brand asked for in the query string, else the switcher's; None for all brands or one outside the scope."""
    raw = request.GET.get("brand", request.session.get("brand_id"))
    try:
        value = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return value if value in scope.brand_ids else None


def _day(value: str) -> datetime | None:
    """A YYYY-MM-DD field as midnight UTC; ValueError for anything else."""
    value = value.strip()
    return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC) if value else None


def _chart(measures: list[Measure]) -> list[dict[str, Any]]:
    def pct(x: float | None) -> float | None:
        return None if x is None else round(100 * x, 1)

    return [
        {
            "label": m.label,
            "social": pct(m.social.p),
            "social_ci": [pct(m.social.lo), pct(m.social.hi)],
            "survey": pct(m.survey.p),
            "survey_ci": [pct(m.survey.lo), pct(m.survey.hi)],
        }
        for m in measures
    ]


@scoped_view
def voice_of_customer(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.ANALYST)
    brand_id = _brand(request, scope)
    error = ""
    start = end = None
    date_from, date_to = request.GET.get("from", ""), request.GET.get("to", "")
    try:
        start = _day(date_from)
        end = _day(date_to)
    except ValueError:
        error = "Dates are written YYYY-MM-DD; showing the whole survey period instead."
        start = end = None
    if end is not None:
        end += timedelta(days=1)  # the "to" day is included
    result = compare(scope, brand_id, start, end)
    return render(
        request,
        "insights/voc.html",
        {
            "result": result,
            "chart": _chart(result["measures"]),
            "last_day": result["end"] - timedelta(microseconds=1) if result["end"] else None,
            "brands": list(scope.brands()),
            "brand_id": brand_id,
            "date_from": date_from if not error else "",
            "date_to": date_to if not error else "",
            "error": error,
        },
    )


@require_POST
@scoped_view
def upload_surveys(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Import an uploaded survey export while the user waits (small files; the CLI takes any size)."""
    require_role(scope, Role.ANALYST)
    upload = request.FILES.get("file")
    refused = upload_limits.refused(request)  # past the size every upload is held to
    if upload is None or refused:
        messages.error(request, refused or "Choose a survey CSV file to upload.")
        return redirect("insights_voc")
    if upload.size is not None and upload.size > importing.UPLOAD_MAX_BYTES:
        messages.error(request, f"The file is too large for the page; run “hubbub import surveys {upload.name}”.")
        return redirect("insights_voc")
    try:
        raw = cast(BinaryIO, upload.file)  # the upload itself (memory or Django's temporary file), read as a stream
        summary = importing.upload(scope, upload.name or "", raw, upload.size or 0, _brand(request, scope))
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("insights_voc")
    text = (
        f"{upload.name}: imported {summary['imported']}, updated {summary['updated']}, "
        f"duplicates {summary['duplicates']}, rejected {summary['rejected']} ({summary['scale']} scale)."
    )
    if summary["rejected"]:
        reasons = ", ".join(
            f"{n} × {r}" for r, n in sorted(summary["rejection_reasons"].items(), key=lambda kv: -kv[1])
        )
        text += f" Rejected rows are kept in Quarantine: {reasons}."
    (messages.warning if summary["rejected"] else messages.success)(request, text)
    return redirect("insights_voc")
