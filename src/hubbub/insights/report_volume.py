"""Volume and sentiment: inbound messages per UTC day and per brand, by the day they were written.

Unlike the conversation reports, volume counts messages, not the cohort: a busy day shows as busy even
when the conversations started earlier.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.db.models import Count

from hubbub.inbox.models import Direction, Message
from hubbub.insights.report_filters import Filters
from hubbub.insights.report_queries import UTCDay, brand_names, named, pct
from hubbub.insights.rollup_read import is_direct, message_rows
from hubbub.tenancy.scoping import Scope, scoped

SENTIMENTS = ("negative", "neutral", "positive")


def _sentiment_row(counts: Mapping[str, int]) -> dict[str, Any]:
    total = sum(counts.values())
    row: dict[str, Any] = {"messages": total}
    for s in (*SENTIMENTS, "unlabelled"):
        row[s] = counts.get(s, 0)
    for s in SENTIMENTS:
        row[f"{s}_pct"] = pct(counts.get(s, 0), total)
    return row


def _direct_grouped(scope: Scope, f: Filters) -> list[tuple[str, int, str, int]]:
    """(day, brand, sentiment, messages) counted from the messages (`rollup_read.direct()`)."""
    qs = scoped(Message.objects.all(), scope).filter(
        direction=Direction.IN, created_at__gte=f.since, created_at__lt=f.until
    )
    if f.brand_id is not None:
        qs = qs.filter(brand_id=f.brand_id)
    if f.team_id is not None:
        qs = qs.filter(conversation__team_id=f.team_id)
    return list(
        qs.order_by()
        .annotate(day=UTCDay("created_at"))
        .values("day", "brand_id", "sentiment")
        .annotate(n=Count("id"))
        .values_list("day", "brand_id", "sentiment", "n")
    )


def volume(scope: Scope, f: Filters) -> dict[str, Any]:
    """Inbound messages per UTC day and per brand, split by sentiment label (unlabelled kept apart)."""
    if is_direct():
        grouped = _direct_grouped(scope, f)
    else:
        grouped = [
            (r["day"], r["brand_id"], r["sentiment"], r["n"]) for r in message_rows(scope, f, Direction.IN, "sentiment")
        ]
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_brand: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_brand_day: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, brand_id, sentiment, n in grouped:
        label = sentiment if sentiment in SENTIMENTS else "unlabelled"
        per_day[day][label] += n
        per_brand[brand_id][label] += n
        per_brand_day[(brand_id, day)][label] += n
    names = brand_names(scope)
    days = [{"day": d.isoformat(), **_sentiment_row(per_day.get(d.isoformat(), {}))} for d in f.days]
    n_days = len(days)
    brands = [
        {
            "brand_id": i,
            "brand": name,
            **_sentiment_row(per_brand[i]),
            "per_day": round(sum(per_brand[i].values()) / n_days, 1),
        }
        for i, name in named(per_brand, names, "")
    ]
    total_counts: dict[str, int] = defaultdict(int)
    for counts in per_day.values():
        for k, v in counts.items():
            total_counts[k] += v
    brand_days = [
        {"day": day, "brand_id": bid, "brand": names.get(bid, f"#{bid}"), **_sentiment_row(counts)}
        for (bid, day), counts in sorted(per_brand_day.items(), key=lambda kv: (kv[0][1], names.get(kv[0][0], "")))
    ]
    return {
        "filters": f.query(),
        "total": {**_sentiment_row(total_counts), "per_day": round(sum(total_counts.values()) / n_days, 1)},
        "days": days,
        "brands": brands,
        "brand_days": brand_days,
    }
