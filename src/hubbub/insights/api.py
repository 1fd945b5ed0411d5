"""Reports API (mounted under /api/v1/): the figures of the Reports pages as JSON.

Same service, same filters, same scope rules as the pages and CSV exports (`hubbub.insights.reports`):
the token's organisation and brands only; an agent's `agents` list holds their own row only.
Query parameters: `from`, `to` (YYYY-MM-DD, UTC days, both included; default the last 30 days),
`brand`, `team` (ids; one outside your scope is ignored). A malformed or reversed range is a 400.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from hubbub.api.auth import request_scope
from hubbub.api.schemas import DB_INT_MAX, answers
from hubbub.insights import reports

router = Router(tags=["reports"])

FROM = Query("", alias="from", description="First day, YYYY-MM-DD (UTC); default 29 days before `to`")
TO = Query("", description="Last day, YYYY-MM-DD (UTC), included; default today")
BRAND = Query(None, description="A brand id of your scope; default all your brands", ge=1, le=DB_INT_MAX)
TEAM = Query(None, description="A team id of your organisation; default all teams", ge=1, le=DB_INT_MAX)


def _run(request: HttpRequest, name: str, start: str, end: str, brand: int | None, team: int | None) -> Any:
    scope = request_scope(request)
    params = {"from": start, "to": end, "brand": "" if brand is None else str(brand), "team": team or ""}
    return reports.REPORTS[name](scope, reports.parse_filters(scope, params))


@router.get("/reports/response-times", response=answers(dict[str, Any]))
def response_times(
    request: HttpRequest, start: str = FROM, to: str = TO, brand: int | None = BRAND, team: int | None = TEAM
) -> Any:
    """First-response and resolution minutes (count, p50, p90, p95, mean) per brand, for conversations
    that started in the range."""
    return _run(request, "response-times", start, to, brand, team)


@router.get("/reports/sla", response=answers(dict[str, Any]))
def sla(
    request: HttpRequest, start: str = FROM, to: str = TO, brand: int | None = BRAND, team: int | None = TEAM
) -> Any:
    """SLA attainment from the stored clocks: met / breached / running / cancelled counts and shares for
    first response and resolution, per brand, per team and in total."""
    return _run(request, "sla", start, to, brand, team)


@router.get("/reports/volume", response=answers(dict[str, Any]))
def volume(
    request: HttpRequest, start: str = FROM, to: str = TO, brand: int | None = BRAND, team: int | None = TEAM
) -> Any:
    """Inbound messages per UTC day, per brand and per brand and day, split by sentiment label."""
    return _run(request, "volume", start, to, brand, team)


@router.get("/reports/agents", response=answers(dict[str, Any]))
def agents(
    request: HttpRequest, start: str = FROM, to: str = TO, brand: int | None = BRAND, team: int | None = TEAM
) -> Any:
    """Per agent (assignee) and per team: conversations, replied, resolved, p50/p90 times, SLA attainment,
    replies sent, CSAT average of the answers they logged."""
    return _run(request, "agents", start, to, brand, team)


@router.get("/reports/csat", response=answers(dict[str, Any]))
def csat(
    request: HttpRequest, start: str = FROM, to: str = TO, brand: int | None = BRAND, team: int | None = TEAM
) -> Any:
    """CSAT (1–5): survey responses per brand (average, satisfied/dissatisfied shares, distribution) and
    CSAT answers logged in the CRM per agent."""
    return _run(request, "csat", start, to, brand, team)
