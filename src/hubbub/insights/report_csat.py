"""CSAT (1–5): survey responses per brand, and the CSAT answers agents log in the CRM, per agent.

Responses count by the day they were submitted. Survey responses carry a brand but no agent; CRM answers
carry the agent who logged them and no brand (they count only under "all brands").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet

from hubbub.crm.models import Interaction
from hubbub.insights.models import Scale, SurveyResponse
from hubbub.insights.report_filters import Filters
from hubbub.insights.report_queries import brand_names, named, pct, sees_brandless, user_names, visible_agents
from hubbub.tenancy.scoping import Scope, scoped

CSAT_SCORES = (1, 2, 3, 4, 5)


def _csat_stats(dist: Mapping[int, int], total: Decimal | float, n: int) -> dict[str, Any]:
    return {
        "responses": n,
        "average": round(float(total) / n, 2) if n else None,
        "satisfied_pct": pct(dist.get(4, 0) + dist.get(5, 0), n),
        "dissatisfied_pct": pct(dist.get(1, 0) + dist.get(2, 0), n),
        **{f"score_{s}": dist.get(s, 0) for s in CSAT_SCORES},
    }


@dataclass
class Scores:
    dist: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    total: Decimal = Decimal(0)
    n: int = 0

    def add(self, score: Decimal | int, n: int) -> None:
        # a half-point answer (4.5) counts in the bucket below it: 4
        self.dist[max(1, min(5, int(score)))] += n
        self.total += Decimal(score) * n
        self.n += n

    def as_dict(self) -> dict[str, Any]:
        return _csat_stats(self.dist, self.total, self.n)


def csat_interactions(scope: Scope, f: Filters) -> QuerySet[Interaction] | None:
    """CSAT answers logged in the CRM (they have an author, no brand and no conversation); None when
    brandless rows do not count for this selection."""
    if not sees_brandless(scope, f):
        return None
    qs = scoped(Interaction.objects.all(), scope, brand_field=None).filter(
        kind=Interaction.Kind.CSAT, score__isnull=False, occurred_at__gte=f.since, occurred_at__lt=f.until
    )
    if f.team_id is not None:
        qs = qs.filter(author__hubbub_teams__id=f.team_id)
    return qs


def interaction_scores(scope: Scope, f: Filters, key: str) -> dict[Any, Scores]:
    qs = csat_interactions(scope, f)
    out: dict[Any, Scores] = defaultdict(Scores)
    if qs is None:
        return out
    for group, score, n in qs.order_by().values(key, "score").annotate(n=Count("id")).values_list(key, "score", "n"):
        out[group].add(score, n)
    return out


def csat(scope: Scope, f: Filters) -> dict[str, Any]:
    """CSAT (1–5): survey responses per brand, CSAT answers logged in the CRM per agent who logged them.

    Survey responses carry a brand but no agent, team or conversation, so they are shown per brand only
    and the team filter does not narrow them. CRM answers carry the agent who logged them and no brand,
    so they count only under "all brands" (for users who see every brand).
    """
    surveys = scoped(SurveyResponse.objects.all(), scope, brand_field=None).filter(
        scale=Scale.CSAT, submitted_at__gte=f.since, submitted_at__lt=f.until
    )
    if f.brand_id is not None:
        surveys = surveys.filter(brand_id=f.brand_id)
    elif sees_brandless(scope, f):
        surveys = surveys.filter(Q(brand_id__in=scope.brand_ids) | Q(brand__isnull=True))
    else:
        surveys = surveys.filter(brand_id__in=scope.brand_ids)
    per_brand: dict[int | None, Scores] = defaultdict(Scores)
    total = Scores()
    rows = surveys.order_by().values("brand_id", "score").annotate(n=Count("id")).values_list("brand_id", "score", "n")
    for brand_id, score, n in rows:
        per_brand[brand_id].add(score, n)
        total.add(score, n)
    per_agent = interaction_scores(scope, f, "author_id")
    agent_total = Scores()
    for scores in per_agent.values():
        for s, n in scores.dist.items():
            agent_total.dist[s] += n
        agent_total.total += scores.total
        agent_total.n += scores.n
    visible = visible_agents(scope, per_agent)
    names = user_names(visible)
    return {
        "filters": f.query(),
        "surveys": {
            "total": total.as_dict(),
            "brands": [
                {"brand_id": i, "brand": name, **per_brand[i].as_dict()}
                for i, name in named(per_brand, brand_names(scope), "No brand")
            ],
        },
        "interactions": {
            "counted": csat_interactions(scope, f) is not None,
            "total": agent_total.as_dict(),
            "agents": [
                {"user_id": i, "agent": name, **per_agent[i].as_dict()}
                for i, name in named(visible, names, "Unknown agent")
            ],
        },
        "team_filter_applies_to_surveys": False,
    }
