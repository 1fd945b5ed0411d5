"""Read side of the war room: chart data for a time range, from the rollup tables.

Volume, sentiment mix, share of voice, languages, places and per-query series read the
minute/hour/day rollups (the grain is chosen by the range, so a year is 365
rows per brand, an hour 60). Top authors, most-shared posts and emerging terms
need the mentions themselves; they read at most `MESSAGE_SCAN` of the latest
mentions in the range (split over the brands) through the (organization,
brand, created_at) index, so
every panel stays fast with millions of stored mentions (the panel says so
when the range held more).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Max, Min, Sum
from django.utils import timezone

from hubbub.inbox.models import Direction, Message
from hubbub.listening.models import Alert, DimensionRollup, Grain, Incident, ListeningQuery, MentionRollup, QueryRollup
from hubbub.listening.places import describe
from hubbub.tenancy.models import Brand
from hubbub.tenancy.scoping import Scope, scoped

# range name -> (length, grain)
RANGES: dict[str, tuple[timedelta, str]] = {
    "1h": (timedelta(hours=1), Grain.MINUTE),
    "6h": (timedelta(hours=6), Grain.MINUTE),
    "24h": (timedelta(hours=24), Grain.HOUR),
    "7d": (timedelta(days=7), Grain.HOUR),
    "30d": (timedelta(days=30), Grain.DAY),
    "90d": (timedelta(days=90), Grain.DAY),
    "1y": (timedelta(days=365), Grain.DAY),
}
RANGE_LABELS = {
    "1h": "Last hour",
    "6h": "6 hours",
    "24h": "24 hours",
    "7d": "7 days",
    "30d": "30 days",
    "90d": "90 days",
    "1y": "Year",
}
STEP: dict[str, timedelta] = {
    Grain.MINUTE: timedelta(minutes=1),
    Grain.HOUR: timedelta(hours=1),
    Grain.DAY: timedelta(days=1),
}
MESSAGE_SCAN = 6_000


@dataclass(frozen=True, slots=True)
class Window:
    """A resolved chart window: [start, end) at a grain, for some brands."""

    name: str
    start: datetime
    end: datetime
    grain: str
    brand_ids: tuple[int, ...]
    anchored_to_latest: bool = False

    def buckets(self) -> list[datetime]:
        step = STEP[self.grain]
        out = []
        t = self.start
        while t < self.end:
            out.append(t)
            t += step
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "range": self.name,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "grain": self.grain,
            "brand_ids": list(self.brand_ids),
            "anchored_to_latest": self.anchored_to_latest,
        }


def _floor(t: datetime, grain: str) -> datetime:
    if grain == Grain.MINUTE:
        return t.replace(second=0, microsecond=0)
    if grain == Grain.HOUR:
        return t.replace(minute=0, second=0, microsecond=0)
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


def resolve_window(
    scope: Scope, range_name: str = "24h", brand_id: int | None = None, end: str | datetime | None = None
) -> Window:
    """Pick brands (one in scope, or all the scope sees), the grain and [start, end).

    `end` is a datetime, an ISO string, "now", or "auto" (default): now, unless
    the range holds no mentions at all, then the latest data (a replayed data
    set, a quiet brand) so the wall screen never shows an empty room silently.
    """
    if range_name not in RANGES:
        raise ValueError(f"Unknown range {range_name!r}; use one of {', '.join(RANGES)}")
    length, grain = RANGES[range_name]
    brand_ids = (brand_id,) if brand_id is not None and brand_id in scope.brand_ids else tuple(sorted(scope.brand_ids))
    if brand_id is not None and brand_id not in scope.brand_ids:
        raise ValueError("Unknown brand")
    anchored = False
    if isinstance(end, datetime):
        end_t = end
    elif end and end not in ("auto", "now"):
        end_t = datetime.fromisoformat(end)
        if end_t.tzinfo is None:
            end_t = end_t.replace(tzinfo=UTC)
    else:
        end_t = timezone.now()
        if end != "now":
            base = MentionRollup.objects.filter(
                organization_id=scope.organization_id, brand_id__in=brand_ids, grain=Grain.HOUR
            )
            if not base.filter(bucket__gte=_floor(end_t - length, Grain.HOUR)).exists():
                latest = base.aggregate(m=Max("bucket"))["m"]
                if latest is not None:
                    end_t = latest + timedelta(hours=1)
                    anchored = True
    # end is exclusive and aligned to the grain, so the last bucket is the current one
    end_b = _floor(end_t, grain) + STEP[grain]
    start_b = end_b - length if grain != Grain.DAY else end_b - timedelta(days=length.days)
    return Window(range_name, _floor(start_b, grain), end_b, grain, brand_ids, anchored)


def _brand_rows(scope: Scope, w: Window) -> list[tuple[int, datetime, int, int, int, int, int]]:
    return list(
        MentionRollup.objects.filter(
            organization_id=scope.organization_id,
            brand_id__in=w.brand_ids,
            grain=w.grain,
            bucket__gte=w.start,
            bucket__lt=w.end,
        ).values_list("brand_id", "bucket", "total", "negative", "neutral", "positive", "engagement")
    )


def _brand_names(scope: Scope, ids: list[int] | tuple[int, ...]) -> dict[int, str]:
    return dict(scoped(Brand.objects.filter(id__in=list(ids)), scope, "id").values_list("id", "name"))


# Colour-blind-friendly on the dark wall screen; a brand keeps its colour in every chart.
BRAND_PALETTE = ("#60a5fa", "#f472b6", "#34d399", "#fbbf24", "#a78bfa", "#f87171", "#22d3ee", "#fb923c")


def brand_colours(scope: Scope) -> dict[int, str]:
    """One colour per brand id of the organisation, the same in every chart and on every page.

    Colours follow the order of the organisation's brand ids (not the brands a
    chart happens to show), so a brand keeps its colour when a filter hides
    another, and brands added later never repaint the existing ones.
    """
    ids = Brand.objects.filter(organization_id=scope.organization_id).order_by("id").values_list("id", flat=True)
    return {b: BRAND_PALETTE[i % len(BRAND_PALETTE)] for i, b in enumerate(ids)}


def volume(scope: Scope, w: Window) -> dict[str, Any]:
    """Mentions per bucket, one series per brand."""
    buckets = w.buckets()
    idx = {b: i for i, b in enumerate(buckets)}
    names = _brand_names(scope, w.brand_ids)
    colours = brand_colours(scope)
    series: dict[int, list[int]] = {b: [0] * len(buckets) for b in w.brand_ids}
    for brand_id, bucket, total, *_ in _brand_rows(scope, w):
        i = idx.get(bucket)
        if i is not None:
            series[brand_id][i] += total
    return {
        "window": w.as_dict(),
        "labels": [b.isoformat() for b in buckets],
        "series": [
            {"brand_id": b, "brand": names.get(b, str(b)), "colour": colours.get(b, BRAND_PALETTE[0]), "data": data}
            for b, data in sorted(series.items(), key=lambda kv: names.get(kv[0], ""))
        ],
        "total": sum(sum(d) for d in series.values()),
    }


def sentiment(scope: Scope, w: Window) -> dict[str, Any]:
    """Negative / neutral / positive per bucket over the selected brands, with totals."""
    buckets = w.buckets()
    idx = {b: i for i, b in enumerate(buckets)}
    neg = [0] * len(buckets)
    neu = [0] * len(buckets)
    pos = [0] * len(buckets)
    for _, bucket, _t, n, u, p, _e in _brand_rows(scope, w):
        i = idx.get(bucket)
        if i is not None:
            neg[i] += n
            neu[i] += u
            pos[i] += p
    total = sum(neg) + sum(neu) + sum(pos)
    return {
        "window": w.as_dict(),
        "labels": [b.isoformat() for b in buckets],
        "negative": neg,
        "neutral": neu,
        "positive": pos,
        "totals": {"negative": sum(neg), "neutral": sum(neu), "positive": sum(pos), "total": total},
        "negative_share": round(sum(neg) / total, 3) if total else None,
    }


def share_of_voice(scope: Scope, w: Window, brand_id: int | None = None) -> dict[str, Any]:
    """Mentions of the own brand against its competitors (those the user may see) in the window."""
    own_id = brand_id if brand_id in scope.brand_ids else (w.brand_ids[0] if len(w.brand_ids) == 1 else None)
    if own_id is None:
        ids = list(w.brand_ids)
    else:
        own = Brand.objects.get(pk=own_id)
        ids = [own_id] + [c for c in own.competitors.values_list("id", flat=True) if c in scope.brand_ids]
    names = _brand_names(scope, ids)
    totals = dict(
        MentionRollup.objects.filter(
            organization_id=scope.organization_id,
            brand_id__in=ids,
            grain=w.grain,
            bucket__gte=w.start,
            bucket__lt=w.end,
        )
        .values_list("brand_id")
        .annotate(n=Sum("total"))
        .values_list("brand_id", "n")
    )
    grand = sum(totals.values())
    colours = brand_colours(scope)
    rows = [
        {
            "brand_id": b,
            "brand": names.get(b, str(b)),
            "colour": colours.get(b, BRAND_PALETTE[0]),
            "mentions": totals.get(b, 0),
            "share": round(totals.get(b, 0) / grand, 4) if grand else 0.0,
            "own": b == own_id,
        }
        for b in ids
    ]
    rows.sort(key=lambda r: (not r["own"], -r["mentions"]))
    return {"window": w.as_dict(), "own_brand_id": own_id, "brands": rows, "total": grand}


def languages(scope: Scope, w: Window, dimension: str = "lang") -> dict[str, Any]:
    """Mentions by language in the window (`dimension="lang"`); empty when the data has none."""
    grain = Grain.HOUR if w.grain == Grain.MINUTE else w.grain
    start = _floor(w.start, grain)
    rows = (
        DimensionRollup.objects.filter(
            organization_id=scope.organization_id,
            brand_id__in=w.brand_ids,
            grain=grain,
            bucket__gte=start,
            bucket__lt=w.end,
            dimension=dimension,
        )
        .values_list("value")
        .annotate(n=Sum("total"))
        .values_list("value", "n")
    )
    items = sorted(rows, key=lambda r: -r[1])
    return {"window": w.as_dict(), "dimension": dimension, "items": [{"value": v, "mentions": n} for v, n in items]}


def places(scope: Scope, w: Window) -> dict[str, Any]:
    """Mentions by place for the map: US states and countries (US states also counted in the US).

    `located` of `mentions` tells how much of the range the map covers: only authors who give a
    location we can read are on it, so a wall screen must not read it as the whole picture.
    """
    items = languages(scope, w, "place")["items"]
    states: list[dict[str, Any]] = []
    by_country: Counter[str] = Counter()
    for it in items:
        info = describe(it["value"])
        if it["value"].startswith("US-"):
            states.append({**info, "mentions": it["mentions"]})
        by_country[info["country"]] += it["mentions"]
    countries = [{**describe(c), "mentions": n} for c, n in by_country.most_common()]
    located = sum(by_country.values())
    grain = Grain.HOUR if w.grain == Grain.MINUTE else w.grain
    total = (
        MentionRollup.objects.filter(
            organization_id=scope.organization_id,
            brand_id__in=w.brand_ids,
            grain=grain,
            bucket__gte=_floor(w.start, grain),
            bucket__lt=w.end,
        ).aggregate(n=Sum("total"))["n"]
        or 0
    )
    return {"window": w.as_dict(), "mentions": total, "located": located, "us_states": states, "countries": countries}


def query_series(scope: Scope, w: Window) -> dict[str, Any]:
    """Matches per bucket of each listening query of the selected brands."""
    queries = list(
        scoped(ListeningQuery.objects.filter(is_active=True), scope)
        .filter(brand_id__in=w.brand_ids)
        .values_list("id", "name", "brand_id", "brand__name")
    )
    colours = brand_colours(scope)
    buckets = w.buckets()
    idx = {b: i for i, b in enumerate(buckets)}
    series: dict[int, list[int]] = {q: [0] * len(buckets) for q, _, _, _ in queries}
    neg: dict[int, int] = defaultdict(int)
    if queries:
        for qid, bucket, total, negative in QueryRollup.objects.filter(
            organization_id=scope.organization_id,
            query_id__in=list(series),
            grain=w.grain,
            bucket__gte=w.start,
            bucket__lt=w.end,
        ).values_list("query_id", "bucket", "total", "negative"):
            i = idx.get(bucket)
            if i is not None:
                series[qid][i] += total
                neg[qid] += negative
    return {
        "window": w.as_dict(),
        "labels": [b.isoformat() for b in buckets],
        "series": [
            {
                "query_id": q,
                "name": name,
                "brand_id": brand_id,
                "brand": brand,
                "colour": colours.get(brand_id, BRAND_PALETTE[0]),
                "data": series[q],
                "total": sum(series[q]),
                "negative": neg[q],
            }
            for q, name, brand_id, brand in queries
        ],
    }


def summary(scope: Scope, w: Window) -> dict[str, Any]:
    """The big numbers: mentions, negative share, change against the previous window, open incidents, alerts."""
    length = w.end - w.start
    base = MentionRollup.objects.filter(organization_id=scope.organization_id, brand_id__in=w.brand_ids, grain=w.grain)
    now = base.filter(bucket__gte=w.start, bucket__lt=w.end).aggregate(
        t=Sum("total"), n=Sum("negative"), e=Sum("engagement")
    )
    prev = base.filter(bucket__gte=w.start - length, bucket__lt=w.start).aggregate(t=Sum("total"), n=Sum("negative"))
    total = now["t"] or 0
    negative = now["n"] or 0
    prev_total = prev["t"] or 0
    incidents = list(
        scoped(Incident.objects.filter(status=Incident.Status.OPEN), scope)
        .filter(brand_id__in=w.brand_ids)
        .values("id", "title", "brand__name", "opened_at")[:5]
    )
    alerts = scoped(Alert.objects.all(), scope).filter(brand_id__in=w.brand_ids, detected_at__gte=w.start)
    return {
        "window": w.as_dict(),
        "mentions": total,
        "negative": negative,
        "negative_share": round(negative / total, 3) if total else None,
        "engagement": now["e"] or 0,
        "previous_mentions": prev_total,
        "change": round((total - prev_total) / prev_total, 3) if prev_total else None,
        "open_incidents": [{**i, "opened_at": i["opened_at"].isoformat()} for i in incidents],
        "alerts": alerts.count(),
    }


# --------------------------------------------------------------- mention panels


def _recent_messages(scope: Scope, w: Window, fields: tuple[str, ...]) -> tuple[list[dict[str, Any]], bool]:
    """The latest inbound mentions of the window, at most MESSAGE_SCAN split evenly over the brands.

    One query per brand so each walks the (organization, brand, created_at)
    index backwards and stops at its limit; a single IN (...) query would sort
    every mention of the range first (seconds for a year of millions).
    """
    per_brand = max(1, MESSAGE_SCAN // max(len(w.brand_ids), 1))
    rows: list[dict[str, Any]] = []
    capped = False
    for brand_id in w.brand_ids:
        got = list(
            Message.objects.filter(
                organization_id=scope.organization_id,
                brand_id=brand_id,
                created_at__gte=w.start,
                created_at__lt=w.end,
                direction=Direction.IN,
            )
            .order_by("-created_at")
            .values(*fields)[: per_brand + 1]
        )
        if len(got) > per_brand:
            capped = True
            got = got[:per_brand]
        rows.extend(got)
    return rows, capped


def top_authors(scope: Scope, w: Window, limit: int = 10) -> dict[str, Any]:
    """Authors of the range's mentions with the widest reach (followers), and how many times they posted.

    Authors whose reach is unknown (0 followers) are left out; when no author
    has a known reach, the most active authors are ranked by mentions and
    `ranked_by` says so for the panel.
    """
    rows, capped = _recent_messages(
        scope, w, ("author_id", "author__handle", "author__followers", "author__display_name", "sentiment")
    )
    agg: dict[int, dict[str, Any]] = {}
    for r in rows:
        a = r["author_id"]
        if a is None:
            continue
        d = agg.get(a)
        if d is None:
            d = agg[a] = {
                "author_id": a,
                "handle": r["author__handle"],
                "name": r["author__display_name"],
                "followers": r["author__followers"] or 0,
                "mentions": 0,
                "negative": 0,
            }
        d["mentions"] += 1
        d["negative"] += r["sentiment"] == "negative"
    reached = [d for d in agg.values() if d["followers"] > 0]
    if reached:
        ranked_by = "reach"
        items = sorted(reached, key=lambda d: (-d["followers"], -d["mentions"]))[:limit]
    else:
        # no follower counts (CSV imports, feeds): a list of zeros ranked by reach says nothing
        ranked_by = "mentions"
        items = sorted(agg.values(), key=lambda d: (-d["mentions"], -d["negative"]))[:limit]
    return {"window": w.as_dict(), "items": items, "ranked_by": ranked_by, "sampled": capped, "scanned": len(rows)}


def top_posts(scope: Scope, w: Window, limit: int = 10) -> dict[str, Any]:
    """The range's most-shared mentions (retweets + likes)."""
    rows, capped = _recent_messages(
        scope,
        w,
        (
            "id",
            "conversation_id",
            "text",
            "retweets",
            "likes",
            "sentiment",
            "created_at",
            "author__handle",
            "brand__name",
        ),
    )
    rows.sort(key=lambda r: -(r["retweets"] + r["likes"]))
    items = [
        {**r, "created_at": r["created_at"].isoformat(), "shares": r["retweets"] + r["likes"]}
        for r in rows[:limit]
        if r["retweets"] + r["likes"] > 0
    ]
    return {"window": w.as_dict(), "items": items, "sampled": capped, "scanned": len(rows)}


_TOKEN = re.compile(r"[#@]?[a-z][a-z0-9_']{2,}")


def emerging_terms(scope: Scope, w: Window, limit: int = 10) -> dict[str, Any]:
    """Terms and topics whose frequency bursts in the latest part of the window against the rest of it.

    The latest sixth of the window (at least ten minutes) is compared with the
    earlier part, rate against rate, with add-one smoothing so a term seen once
    is not a burst; brand handles are left out (they are always there). The
    classifier's topic of each mention counts as a term `topic: <name>`.
    """
    from hubbub.listening.stopwords import STOPWORDS  # scikit-learn's list: loaded by the first war room only

    rows, capped = _recent_messages(scope, w, ("text", "created_at", "topic"))
    length = w.end - w.start
    recent_len = max(length / 6, timedelta(minutes=10))
    cut = w.end - recent_len
    handles = {
        "@" + h.lower().lstrip("@")
        for hs in Brand.objects.filter(id__in=w.brand_ids).values_list("handles", flat=True)
        for h in (hs or [])
    }
    recent: Counter[str] = Counter()
    base: Counter[str] = Counter()
    oldest = cut
    for r in rows:
        toks = {t for t in _TOKEN.findall(r["text"].lower()) if t not in STOPWORDS and t not in handles}
        if r["topic"]:
            toks.add("topic: " + r["topic"])
        if r["created_at"] >= cut:
            recent.update(toks)
        else:
            base.update(toks)
            if r["created_at"] < oldest:
                oldest = r["created_at"]
    base_len = max((cut - oldest).total_seconds(), 60.0)
    rec_len = recent_len.total_seconds()
    items: list[dict[str, Any]] = []
    for term, n in recent.items():
        if n < 3:
            continue
        b = base.get(term, 0)
        ratio = ((n + 1) / rec_len) / ((b + 1) / base_len)
        if ratio >= 2.0:
            items.append(
                {
                    "term": term,
                    "recent": n,
                    "baseline": b,
                    "ratio": round(ratio, 1),
                    "expected": round(b * rec_len / base_len, 1),
                }
            )
    items.sort(key=lambda d: (-d["ratio"] * min(d["recent"], 20), -d["recent"]))
    return {
        "window": w.as_dict(),
        "recent_since": cut.isoformat(),
        "items": items[:limit],
        "sampled": capped,
        "scanned": len(rows),
    }


def data_span(scope: Scope) -> dict[str, Any]:
    """First and last bucket of stored data, for empty states."""
    agg = MentionRollup.objects.filter(organization_id=scope.organization_id, grain=Grain.DAY).aggregate(
        first=Min("bucket"), last=Max("bucket"), total=Sum("total")
    )
    return agg


CHARTS = {
    "summary": summary,
    "volume": volume,
    "sentiment": sentiment,
    "share-of-voice": share_of_voice,
    "languages": languages,
    "places": places,
    "queries": query_series,
    "top-authors": top_authors,
    "top-posts": top_posts,
    "emerging-terms": emerging_terms,
}
