"""`hubbub report response-times`: the Reports page's response times, for every organisation at once.

Why it asks the Reports service rather than counting itself: it used to read every conversation of all
time, spam included, so the CLI and the Reports page gave two answers to one question. Now each
organisation's figures come from `reports.response_times` with the page's filters (the same cohort:
customer-started, non-spam conversations that started in the range; the same default range: the last 30
UTC days), and this module only reshapes them into the CLI's stable JSON: one row per organisation and
brand, with `first_response_minutes` and `resolution_minutes` percentiles.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.utils import timezone

from hubbub.insights import reports
from hubbub.tenancy.models import Organization
from hubbub.tenancy.scoping import system_scope


def response_time_report(org_slug: str | None = None, start: str = "", end: str = "") -> dict[str, Any]:
    """{"filters": {"from", "to"}, "brands": [{organization, brand, conversations, first_response_minutes,
    resolution_minutes}]} for every organisation (or the one named), sorted by organisation and brand name.

    `start`/`end` are days YYYY-MM-DD as on the Reports page (empty: its default range); a malformed or
    reversed range raises ValueError.
    """
    params = {"from": start, "to": end}
    today = timezone.now().astimezone(UTC).date()  # one "today" for every organisation's range
    first, last = reports.day_range(params, today)
    orgs = Organization.objects.order_by("id")
    if org_slug:
        orgs = orgs.filter(slug=org_slug)
    brands = []
    for org in orgs:
        scope = system_scope(org.pk)
        for row in reports.response_times(scope, reports.parse_filters(scope, params, today=today))["brands"]:
            brands.append(
                {
                    "organization": org.name,
                    "brand": row["brand"],
                    "conversations": row["conversations"],
                    "first_response_minutes": row["first_response_minutes"],
                    "resolution_minutes": row["resolution_minutes"],
                }
            )
    brands.sort(key=lambda r: (r["organization"], r["brand"]))
    return {"filters": {"from": first.isoformat(), "to": last.isoformat()}, "brands": brands}
