"""Report pages (Reports → Response times · SLA · Volume & sentiment · Agents & teams · CSAT) and their CSV exports.

Views parse the filters, call `hubbub.insights.reports` and render; who sees which rows is decided there
(through the tenancy scope), so the pages, the CSV exports, the API and the CLI show the same figures.
Every member of the organisation may open the reports (as the Response times page always allowed); an
agent's Agents & teams table holds their own row only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse

from hubbub.csv_export import csv_response
from hubbub.insights import reports
from hubbub.tenancy.models import Team
from hubbub.tenancy.scoping import Scope
from hubbub.web.views.common import scoped_view

# (report name, tab label, url name, template)
TABS = [
    ("response-times", "Response times", "reports", "insights/reports/response_times.html"),
    ("sla", "SLA", "insights_reports_sla", "insights/reports/sla.html"),
    ("volume", "Volume & sentiment", "insights_reports_volume", "insights/reports/volume.html"),
    ("agents", "Agents & teams", "insights_reports_agents", "insights/reports/agents.html"),
    ("csat", "CSAT", "insights_reports_csat", "insights/reports/csat.html"),
]
TABLE_LABELS = {
    "brands": "per brand",
    "teams": "per team",
    "agents": "per agent",
    "days": "per day",
    "brand_days": "per brand and day",
}


def _filters(request: HttpRequest, scope: Scope) -> tuple[reports.Filters, str]:
    """The filters asked for; on a bad date the default range with the reason to show."""
    default_brand = request.session.get("brand_id") if hasattr(request, "session") else None
    try:
        return reports.parse_filters(scope, request.GET, default_brand), ""
    except ValueError as exc:
        kept = {k: request.GET[k] for k in ("brand", "team") if k in request.GET}
        return reports.parse_filters(scope, kept, default_brand), f"{exc} Showing the last 30 days instead."


def _charts(name: str, data: dict[str, Any]) -> Any:
    """The small JSON each page's chart draws from (json_script: escaped by Django)."""
    if name == "response-times":
        return [
            {"brand": b["brand"], "p50": b["first_response_minutes"]["p50"], "p90": b["first_response_minutes"]["p90"]}
            for b in data["brands"]
            if b["first_response_minutes"]["count"]
        ]
    if name == "sla":
        return [
            {"label": b["brand"], **{k: b["first_response"][f"{k}_pct"] for k in ("met", "breached", "running")}}
            for b in data["brands"]
        ]
    if name == "volume":
        return [{k: d[k] for k in ("day", "negative", "neutral", "positive", "unlabelled")} for d in data["days"]]
    if name == "csat":
        total = data["surveys"]["total"]
        return [{"score": s, "n": total[f"score_{s}"]} for s in reports.CSAT_SCORES]
    return None


def render_report(request: HttpRequest, scope: Scope, name: str) -> HttpResponse:
    """One report tab: filters, tabs, the report's tables and chart, and links to its CSV exports."""
    f, error = _filters(request, scope)
    data = reports.REPORTS[name](scope, f)
    query = urlencode(f.query())
    template = next(t for n, _, _, t in TABS if n == name)
    exports = [
        (TABLE_LABELS.get(table, table), reverse("insights_reports_export", args=[name, table]) + "?" + query)
        for table in reports.tables(name, data)
    ]
    context = {
        "report": data,
        "tab": name,
        "tabs": [(n, label, reverse(url) + "?" + query) for n, label, url, _ in TABS],
        "voc_url": reverse("insights_voc") + "?" + urlencode({"brand": f.query()["brand"]}),
        "filters": f,
        "last_day": f.end,
        "error": error,
        "brands": list(scope.brands()),
        "teams": list(Team.objects.filter(organization_id=scope.organization_id).order_by("name")),
        "chart": _charts(name, data),
        "exports": exports,
    }
    return render(request, template, context)


def _tab(name: str) -> Callable[..., HttpResponseBase]:
    """The view of one report tab (login and membership required; rows decided by the service)."""

    @scoped_view
    def view(request: HttpRequest, scope: Scope) -> HttpResponse:
        return render_report(request, scope, name)

    view.__name__ = view.__qualname__ = f"{name.replace('-', '_')}_report"
    return view


response_times_report = _tab("response-times")
sla_report = _tab("sla")
volume_report = _tab("volume")
agents_report = _tab("agents")
csat_report = _tab("csat")


@scoped_view
def export(request: HttpRequest, scope: Scope, name: str, table: str) -> HttpResponse | StreamingHttpResponse:
    """One table of a report as CSV, streamed, with the same filters and rows as the page."""
    if name not in reports.REPORTS:
        raise Http404("No such report")
    try:
        f = reports.parse_filters(scope, request.GET, request.session.get("brand_id"))
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    found = reports.tables(name, reports.REPORTS[name](scope, f)).get(table)
    if found is None:
        raise Http404("No such table")
    header, rows = found
    return csv_response(f"hubbub-{name}-{table}-{f.start.isoformat()}-{f.end.isoformat()}.csv", header, rows)
