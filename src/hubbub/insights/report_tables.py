"""A report as flat tables (header, rows) for the CSV exports: one row per group (and metric)."""

from __future__ import annotations

from typing import Any

from hubbub.insights.report_csat import CSAT_SCORES
from hubbub.insights.report_sla import SLA_METRICS
from hubbub.insights.report_volume import SENTIMENTS

Table = tuple[list[str], list[list[Any]]]
_TIMES = ("count", "p50", "p90", "p95", "mean")


def _sla_rows(label: str, rows: list[dict[str, Any]]) -> Table:
    header = [label, "metric", "met", "breached", "running", "cancelled", "met_pct", "breached_pct", "running_pct"]
    header.append("attainment_pct")
    body = [[row[label], str(m), *[row[str(m)][k] for k in header[2:]]] for row in rows for m in SLA_METRICS]
    return header, body


def _columns(rows: list[dict[str, Any]], header: list[str]) -> list[list[Any]]:
    return [[row.get(k) for k in header] for row in rows]


def tables(name: str, data: dict[str, Any]) -> dict[str, Table]:
    """A report as flat tables (header, rows) for the CSV exports: one row per group (and metric)."""
    if name == "response-times":
        header = ["brand", "conversations"]
        header += [f"first_response_{k}" for k in _TIMES] + [f"resolution_{k}" for k in _TIMES]
        body = [
            [r["brand"], r["conversations"]]
            + [r["first_response_minutes"][k] for k in _TIMES]
            + [r["resolution_minutes"][k] for k in _TIMES]
            for r in data["brands"]
        ]
        return {"brands": (header, body)}
    if name == "sla":
        return {"brands": _sla_rows("brand", data["brands"]), "teams": _sla_rows("team", data["teams"])}
    if name == "volume":
        counts = ["messages", *SENTIMENTS, "unlabelled", *[f"{s}_pct" for s in SENTIMENTS]]
        return {
            "days": (["day", *counts], _columns(data["days"], ["day", *counts])),
            "brands": (["brand", *counts, "per_day"], _columns(data["brands"], ["brand", *counts, "per_day"])),
            "brand_days": (["day", "brand", *counts], _columns(data["brand_days"], ["day", "brand", *counts])),
        }
    if name == "agents":
        perf = ["conversations", "replied", "resolved", "first_response_p50", "first_response_p90"]
        perf += ["resolution_p50", "resolution_p90"]
        out: dict[str, Table] = {}
        for table, label, extra in (("agents", "agent", ["replies_sent"]), ("teams", "team", [])):
            header = [label, *perf, "first_response_sla_attainment_pct", "resolution_sla_attainment_pct"]
            header += [*extra, "csat_average", "csat_responses"]
            body = [
                [r["name"], *[r[k] for k in perf]]
                + [r["sla"][str(m)]["attainment_pct"] for m in SLA_METRICS]
                + [r[k] for k in [*extra, "csat_average", "csat_responses"]]
                for r in data[table]
            ]
            out[table] = (header, body)
        return out
    if name == "csat":
        stats = ["responses", "average", "satisfied_pct", "dissatisfied_pct", *[f"score_{s}" for s in CSAT_SCORES]]
        return {
            "brands": (["brand", *stats], _columns(data["surveys"]["brands"], ["brand", *stats])),
            "agents": (["agent", *stats], _columns(data["interactions"]["agents"], ["agent", *stats])),
        }
    raise KeyError(name)
