"""SLA attainment: the cohort's first-response and resolution clocks, met, breached or still running.

It reads the stored clocks (`workflow.SLAClock`), the same rows the inbox counts down by: a stopped clock
has its outcome (met, breached, cancelled); a clock still running counts as breached once it has passed its
due time (as the inbox shows it overdue), else as running.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, F
from django.utils import timezone

from hubbub.insights.report_filters import Filters
from hubbub.insights.report_queries import brand_names, cohort, named, pct, team_names
from hubbub.insights.rollup_read import is_direct
from hubbub.insights.rollup_read import sla_counts as rollup_sla_counts
from hubbub.insights.rollups import SLA_METRICS, clock_state
from hubbub.tenancy.scoping import Scope, scoped
from hubbub.workflow.models import SLAClock

SLA_STATES = ("met", "breached", "running", "cancelled")


@dataclass
class Attainment:
    """Clock outcomes of one group; shares are of met + breached + running (cancelled clocks, whose
    target stopped applying, e.g. a conversation resolved without needing a reply, are left out)."""

    met: int = 0
    breached: int = 0
    running: int = 0
    cancelled: int = 0

    def add(self, state: str, n: int) -> None:
        setattr(self, state, getattr(self, state) + n)

    def as_dict(self) -> dict[str, Any]:
        counted = self.met + self.breached + self.running
        decided = self.met + self.breached
        return {
            "met": self.met,
            "breached": self.breached,
            "running": self.running,
            "cancelled": self.cancelled,
            "counted": counted,
            "met_pct": pct(self.met, counted),
            "breached_pct": pct(self.breached, counted),
            "running_pct": pct(self.running, counted),
            # of the clocks that have an outcome: the attainment figure a contract quotes
            "attainment_pct": pct(self.met, decided),
        }


def direct_sla_counts(
    scope: Scope, f: Filters, groupings: Sequence[str | None], now: datetime | None = None
) -> dict[str | None, dict[Any, dict[str, Attainment]]]:
    """{grouping: {group value: {metric: Attainment}}} for the cohort's first-response and resolution clocks.

    One GROUP BY over every grouping field at once (`brand_id`, `team_id`, `assignee_id` of the
    conversation; None for all together), folded here per grouping: one pass over the clocks per page.
    """
    fields = sorted({g for g in groupings if g})
    qs = scoped(SLAClock.objects.all(), scope, brand_field="conversation__brand_id").filter(
        cohort(f, "conversation__"), metric__in=list(SLA_METRICS)
    )
    rows = (
        qs.order_by()
        .annotate(current=clock_state(now or timezone.now()), **{f"g_{g}": F(f"conversation__{g}") for g in fields})
        .values(*[f"g_{g}" for g in fields], "metric", "current")
        .annotate(n=Count("id"))
    )
    out: dict[str | None, dict[Any, dict[str, Attainment]]] = {
        g: defaultdict(lambda: {m: Attainment() for m in SLA_METRICS}) for g in groupings
    }
    for row in rows:
        for g in groupings:
            out[g][row[f"g_{g}"] if g else None][row["metric"]].add(row["current"], row["n"])
    return out


def sla_counts(
    scope: Scope,
    f: Filters,
    groupings: Sequence[str | None],
    now: datetime | None = None,
    rows: list[dict[str, Any]] | None = None,
) -> dict[str | None, dict[Any, dict[str, Attainment]]]:
    """{grouping: {group value: {metric: Attainment}}}: from the daily rollups (`rollup_read`; `rows`: its
    `cohort_rows` already read), or from the clocks themselves inside `rollup_read.direct()`."""
    now = now or timezone.now()
    if is_direct():
        return direct_sla_counts(scope, f, groupings, now)
    out: dict[str | None, dict[Any, dict[str, Attainment]]] = {
        g: defaultdict(lambda: {m: Attainment() for m in SLA_METRICS}) for g in groupings
    }
    for g, groups in rollup_sla_counts(scope, f, groupings, now, rows).items():
        for key, metrics in groups.items():
            for metric, counts in metrics.items():
                for state, n in counts.items():
                    out[g][key][metric].add(state, n)
    return out


def sla_dict(groups: Mapping[str, Attainment] | None) -> dict[str, Any]:
    groups = groups or {}
    return {str(m): (groups.get(m) or Attainment()).as_dict() for m in SLA_METRICS}


def sla(scope: Scope, f: Filters, now: datetime | None = None) -> dict[str, Any]:
    """SLA attainment (first response, resolution) per brand and per team, with the overall figures."""
    counts = sla_counts(scope, f, ["brand_id", "team_id", None], now)
    by_brand, by_team, overall = counts["brand_id"], counts["team_id"], counts[None]
    return {
        "filters": f.query(),
        "total": sla_dict(overall.get(None)),
        "brands": [
            {"brand_id": i, "brand": name, **sla_dict(by_brand[i])}
            for i, name in named(by_brand, brand_names(scope), "")
        ],
        "teams": [
            {"team_id": i, "team": name, **sla_dict(by_team[i])}
            for i, name in named(by_team, team_names(scope), "No team")
        ],
    }
