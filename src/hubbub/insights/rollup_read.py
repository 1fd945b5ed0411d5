"""What the Reports read: the rollup rows of the range, folded into the figures the pages show.

Every filter of `report_filters.Filters` is a dimension of the rollups (the range: whole UTC days; the
brand; the team), and the scope's brands are the rows' brand, so no request needs the direct computation.
Clean days come from the stored rows; the other days of the range (today, typically) are derived from the
rows by the same code the build stores (`rollups.derive_*`), one contiguous run of days at a time.

`direct()` switches back to computing from the conversations (`report_queries.time_stats`, the SLA's
`direct_sla_counts`), for the tests and benchmarks that compare both ways.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import Sum

from hubbub.insights.models import ConversationRollup, MessageRollup
from hubbub.insights.report_filters import Filters
from hubbub.insights.report_queries import conversations
from hubbub.insights.report_queries import time_stats as direct_time_stats
from hubbub.insights.rollup_hist import dense, stats
from hubbub.insights.rollups import GROUP, SLA_METRICS, derive_conversations, derive_messages, dirty_days
from hubbub.tenancy.scoping import Scope, scoped

_DIRECT: ContextVar[bool] = ContextVar("hubbub_reports_direct", default=False)
STATES = ("met", "breached", "running", "cancelled")


@contextmanager
def direct() -> Iterator[None]:
    """Compute the reports from the conversations, not the rollups, inside this block."""
    token = _DIRECT.set(True)
    try:
        yield
    finally:
        _DIRECT.reset(token)


def is_direct() -> bool:
    return _DIRECT.get()


def _runs(days: set[date]) -> list[tuple[date, date]]:
    """Contiguous runs of days, so a derivation is one query per run rather than per day."""
    runs: list[tuple[date, date]] = []
    for d in sorted(days):
        if runs and runs[-1][1] + timedelta(days=1) == d:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def _wanted(row: dict[str, Any], scope: Scope, f: Filters) -> bool:
    return (
        row["brand_id"] in scope.brand_ids
        and (f.brand_id is None or row["brand_id"] == f.brand_id)
        and (f.team_id is None or row["team_id"] == f.team_id)
    )


def _stored(model: Any, scope: Scope, f: Filters, dirty: set[date], fields: Sequence[str], **where: Any) -> Any:
    qs = scoped(model.objects.all(), scope).filter(day__gte=f.start, day__lte=f.end, **where)
    if dirty:
        qs = qs.exclude(day__in=sorted(dirty))
    if f.brand_id is not None:
        qs = qs.filter(brand_id=f.brand_id)
    if f.team_id is not None:
        qs = qs.filter(team_id=f.team_id)
    return qs.order_by().values(*fields)


def cohort_rows(scope: Scope, f: Filters) -> list[dict[str, Any]]:
    """The range's `ConversationRollup` rows the scope and filters allow, stored or derived."""
    dirty = dirty_days(scope.organization_id, f.start, f.end)
    fields = (*GROUP, "conversations", "first_response", "resolution", "sla", *[f"{m}_due" for m in SLA_METRICS])
    rows = list(_stored(ConversationRollup, scope, f, dirty, fields))
    for start, end in _runs(dirty):
        rows += [r for r in derive_conversations(scope.organization_id, start, end) if _wanted(r, scope, f)]
    return rows


def message_rows(scope: Scope, f: Filters, direction: str, by: str) -> list[dict[str, Any]]:
    """{day, brand_id, `by`, messages} of the range's `MessageRollup` rows in one direction, summed over
    the other dimensions; `by` is "sentiment" or "sent_by_id"."""
    dirty = dirty_days(scope.organization_id, f.start, f.end)
    stored = _stored(MessageRollup, scope, f, dirty, ("day", "brand_id", by), direction=direction)
    if by == "sent_by_id":
        stored = stored.filter(sent_by__isnull=False)
    rows = [{**r, "day": r["day"].isoformat()} for r in stored.annotate(n=Sum("messages"))]
    totals: dict[tuple[Any, ...], int] = defaultdict(int)
    for start, end in _runs(dirty):
        for r in derive_messages(scope.organization_id, start, end):
            if r["direction"] == direction and _wanted(r, scope, f) and (by != "sent_by_id" or r[by] is not None):
                totals[(r["day"], r["brand_id"], r[by])] += r["messages"]
    rows += [{"day": d, "brand_id": b, by: v, "n": n} for (d, b, v), n in totals.items()]
    return rows


def _codes(rows: list[dict[str, Any]], grouping: str | None) -> tuple[list[Any], np.ndarray[Any, Any]]:
    keys: dict[Any, int] = {}
    codes = [keys.setdefault(row[grouping] if grouping else None, len(keys)) for row in rows]
    return list(keys), np.asarray(codes, dtype=np.int64)


def time_stats(
    scope: Scope, f: Filters, groupings: Sequence[str | None], rows: list[dict[str, Any]] | None = None
) -> dict[str | None, dict[Any, Any]]:
    """What `report_queries.time_stats` gives for the cohort, folded from the rollups' histograms (same
    shape; percentiles within the bound `rollup_hist` documents). `rows`: `cohort_rows` already read (a
    page that also folds the SLA reads them once)."""
    if is_direct():
        return direct_time_stats(conversations(scope, f), groupings)
    rows = [r for r in (cohort_rows(scope, f) if rows is None else rows) if r["conversations"]]
    out: dict[str | None, dict[Any, Any]] = {}
    for grouping in groupings:
        keys, codes = _codes(rows, grouping)
        weights = np.asarray([r["conversations"] for r in rows], dtype=float)
        counts: np.ndarray[Any, Any] = np.bincount(codes, weights, len(keys))
        hists = {n: dense([r[n] for r in rows], codes, len(keys)) for n in ("first_response", "resolution")}
        out[grouping] = {
            key: {"conversations": int(counts[c]), **{n: stats(h[0][c], h[1][c]) for n, h in hists.items()}}
            for c, key in enumerate(keys)
        }
    return out


def sla_counts(
    scope: Scope, f: Filters, groupings: Sequence[str | None], now: datetime, rows: list[dict[str, Any]] | None = None
) -> dict[str | None, dict[Any, dict[str, dict[str, int]]]]:
    """{grouping: {group value: {metric: {state: n}}}} for the cohort's clocks, from the rollups: a clock
    still running counts as breached once its due instant is before `now`."""
    epoch = now.timestamp()
    out: dict[str | None, dict[Any, dict[str, dict[str, int]]]] = {g: {} for g in groupings}
    for row in cohort_rows(scope, f) if rows is None else rows:
        for metric, counts in row["sla"].items():
            if metric not in SLA_METRICS:
                continue
            due = np.frombuffer(row[f"{metric}_due"], dtype="<f8")
            late = int((due < epoch).sum())
            add = {s: counts.get(s, 0) for s in STATES}
            add["breached"] += late
            add["running"] += len(due) - late
            for g in groupings:
                group = out[g].setdefault(row[g] if g else None, {})
                slot = group.setdefault(metric, dict.fromkeys(STATES, 0))
                for s, n in add.items():
                    slot[s] += n
    return out
