"""Care-team reports: response times, SLA attainment, volume and sentiment, agents and teams, CSAT.

The conversation figures, Volume and the replies sent are read from daily rollups (`rollups` builds and
marks them, `rollup_read` folds them, `rollup_hist` holds the percentile histograms): a 30-day page folds a
few hundred rows instead of every conversation of the range, and a day not yet built is derived from the
rows for that request. Every query starts from `tenancy.scoping.scoped`.

This module is the Reports service the pages, CSV exports, API and CLI call (`REPORTS`, `parse_filters`,
`tables`); the code lives in modules named for what they hold: `report_filters` (the range, brand, team),
`report_queries` (the cohort, durations, percentiles, names), `report_sla`, `report_volume`, `report_csat`,
`report_agents`, and `report_tables` (the CSV shapes). Response times, the first tab, are here.

The unit of the conversation reports is the *cohort*: customer-started, non-spam conversations whose
first message falls in the date range. Response times, SLA attainment and agent figures all count the
same conversations, so their totals agree with each other. Volume counts inbound messages by the day
they were written; CSAT counts responses by the day they were submitted. Days are UTC days.

SLA attainment reads the stored clocks (`workflow.SLAClock`), the same rows the inbox counts down by:
a stopped clock has its outcome (met, breached, cancelled); a clock still running counts as breached
once it has passed its due time (as the inbox shows it overdue), else as running.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hubbub.insights.report_agents import agents
from hubbub.insights.report_csat import CSAT_SCORES, csat
from hubbub.insights.report_filters import DEFAULT_DAYS, MAX_DAYS, Filters, day_range, parse_filters
from hubbub.insights.report_queries import EMPTY_TIMES, brand_names, named
from hubbub.insights.report_sla import SLA_METRICS, sla
from hubbub.insights.report_tables import tables
from hubbub.insights.report_volume import SENTIMENTS, volume
from hubbub.insights.rollup_read import time_stats
from hubbub.tenancy.scoping import Scope

#: The Reports service as the pages, CSV exports, API and CLI use it; the modules named above hold the code.
__all__ = [
    "CSAT_SCORES",
    "DEFAULT_DAYS",
    "MAX_DAYS",
    "REPORTS",
    "SENTIMENTS",
    "SLA_METRICS",
    "Filters",
    "agents",
    "csat",
    "day_range",
    "parse_filters",
    "response_times",
    "sla",
    "tables",
    "volume",
]


def response_times(scope: Scope, f: Filters) -> dict[str, Any]:
    """First-response and resolution minutes per brand for the cohort (the Response times tab)."""
    stats = time_stats(scope, f, ["brand_id", None])
    by_brand, overall = stats["brand_id"], stats[None]

    def row(s: Mapping[str, Any] | None) -> dict[str, Any]:
        s = s or {"conversations": 0}
        return {
            "conversations": s["conversations"],
            "first_response_minutes": s.get("first_response", EMPTY_TIMES),
            "resolution_minutes": s.get("resolution", EMPTY_TIMES),
        }

    rows = [{"brand_id": i, "brand": name, **row(by_brand[i])} for i, name in named(by_brand, brand_names(scope), "")]
    return {"filters": f.query(), "brands": rows, "total": row(overall.get(None))}


REPORTS = {
    "response-times": response_times,
    "sla": sla,
    "volume": volume,
    "agents": agents,
    "csat": csat,
}
