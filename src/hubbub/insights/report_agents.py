"""Agents and teams: each agent's (the assignee's) and each team's share of the cohort, their response
and resolution percentiles, SLA attainment, replies sent and the CSAT answers they logged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db.models import Count

from hubbub.inbox.models import Direction, Message
from hubbub.insights.report_csat import csat_interactions, interaction_scores
from hubbub.insights.report_filters import Filters
from hubbub.insights.report_queries import EMPTY_TIMES, named, team_names, user_names, visible_agents
from hubbub.insights.report_sla import Attainment, sla_counts, sla_dict
from hubbub.insights.rollup_read import cohort_rows, is_direct, message_rows, time_stats
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, scoped


def _people_rows(
    groups: list[tuple[Any, str]], times: Mapping[Any, Any], slas: Mapping[Any, Mapping[str, Attainment]]
) -> list[dict[str, Any]]:
    rows = []
    for i, name in groups:
        t = times.get(i) or {}
        fr, rs = t.get("first_response", EMPTY_TIMES), t.get("resolution", EMPTY_TIMES)
        rows.append(
            {
                "id": i,
                "name": name,
                "conversations": t.get("conversations", 0),
                "replied": fr["count"],
                "resolved": rs["count"],
                "first_response_p50": fr["p50"],
                "first_response_p90": fr["p90"],
                "resolution_p50": rs["p50"],
                "resolution_p90": rs["p90"],
                "sla": sla_dict(slas.get(i)),
            }
        )
    return rows


def _direct_sent(scope: Scope, f: Filters) -> dict[int, int]:
    """Replies each agent sent in the range, counted from the messages (`rollup_read.direct()`)."""
    qs = scoped(Message.objects.all(), scope).filter(
        direction=Direction.OUT, sent_by__isnull=False, created_at__gte=f.since, created_at__lt=f.until
    )
    if f.brand_id is not None:
        qs = qs.filter(brand_id=f.brand_id)
    if f.team_id is not None:
        qs = qs.filter(conversation__team_id=f.team_id)
    return dict(qs.order_by().values("sent_by_id").annotate(n=Count("id")).values_list("sent_by_id", "n"))


def agents(scope: Scope, f: Filters) -> dict[str, Any]:
    """Per agent (the conversation's assignee) and per team: conversations of the cohort, how many were
    replied to and resolved, response and resolution percentiles, SLA attainment, replies the agent
    sent in the range, and the average of the CSAT answers they logged in the CRM (where there are any).

    "Replied" and "resolved" count conversations with a first response / a resolution time."""
    rows = None if is_direct() else cohort_rows(scope, f)  # read once for the times and the SLA
    times = time_stats(scope, f, ["assignee_id", "team_id"], rows)
    slas = sla_counts(scope, f, ["assignee_id", "team_id"], rows=rows)
    sent: dict[int, int] = defaultdict(int)
    if is_direct():
        sent.update(_direct_sent(scope, f))
    else:
        for row in message_rows(scope, f, Direction.OUT, "sent_by_id"):
            sent[row["sent_by_id"]] += row["n"]
    agent_csat = interaction_scores(scope, f, "author_id")
    assignees = {i for i in times["assignee_id"] if i is not None}
    ids = visible_agents(scope, assignees | set(sent) | {i for i in agent_csat if i is not None})
    agent_rows = _people_rows(named(ids, user_names(ids), ""), times["assignee_id"], slas["assignee_id"])
    for row in agent_rows:
        scores = agent_csat.get(row["id"])
        row["replies_sent"] = sent.get(row["id"], 0)
        row["csat_average"] = scores.as_dict()["average"] if scores else None
        row["csat_responses"] = scores.n if scores else 0
    team_csat = interaction_scores(scope, f, "author__hubbub_teams")
    teams = named(times["team_id"], team_names(scope), "No team")
    team_rows = _people_rows(teams, times["team_id"], slas["team_id"])
    for row in team_rows:
        scores = team_csat.get(row["id"]) if row["id"] is not None else None
        row["csat_average"] = scores.as_dict()["average"] if scores else None
        row["csat_responses"] = scores.n if scores else 0
    return {
        "filters": f.query(),
        "agents": agent_rows,
        "teams": team_rows,
        "own_row_only": scope.role == Role.AGENT,
        "csat_counted": csat_interactions(scope, f) is not None,
    }
