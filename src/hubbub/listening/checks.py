"""Temperature check against stored data: count what `temperature.temperature_check` scores.

"Take the temperature before you post": for a hashtag, phrase or campaign idea,
how much is being said around its terms and around the brand lately, how
negative that is against the brand's usual, what the negative themes are (with
example posts), how the brand's past hashtags fared, and a risk score with its
reasons.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from hubbub.inbox.models import Direction, Message
from hubbub.listening.models import Grain, Incident, MentionRollup
from hubbub.listening.temperature import BrandStats, TermStats, temperature_check
from hubbub.tenancy.models import Brand
from hubbub.tenancy.scoping import Scope

RECENT_DAYS = 7
BASELINE_DAYS = 28
_TAG = re.compile(r"#\w+")
_QUOTED = re.compile(r'"([^"]+)"')


def campaign_terms(text: str) -> tuple[list[str], list[str]]:
    """Split a campaign idea into (terms, hashtags): each #tag and "quoted phrase", else the whole text."""
    tags = list(dict.fromkeys(_TAG.findall(text)))
    quoted = [q.strip() for q in _QUOTED.findall(text) if q.strip()]
    rest = _QUOTED.sub(" ", _TAG.sub(" ", text)).strip()
    terms = tags + quoted
    if rest and len(rest.split()) <= 6 and not terms:
        terms.append(rest)
    elif rest and not terms:
        terms.extend(w for w in rest.split() if len(w) > 3)
    return list(dict.fromkeys(t for t in terms if t))[:8], tags


def _now_for(brand_id: int) -> tuple[datetime, bool]:
    """Now, or the end of the brand's data when nothing arrived in the last week (replayed data sets)."""
    now = timezone.now()
    latest = MentionRollup.objects.filter(brand_id=brand_id, grain=Grain.DAY).aggregate(m=Max("bucket"))["m"]
    if latest is not None and latest < now - timedelta(days=RECENT_DAYS):
        return latest + timedelta(days=1), True
    return now, False


def run_temperature_check(scope: Scope, brand_id: int, idea: str) -> dict[str, Any]:
    """Score a campaign idea for one brand in scope; returns numbers, reasons and examples."""
    if brand_id not in scope.brand_ids:
        raise ValueError("Unknown brand")
    idea = idea.strip()
    if not idea:
        raise ValueError("Describe the hashtag, phrase or campaign idea to check.")
    brand = Brand.objects.get(pk=brand_id)
    now, anchored = _now_for(brand_id)
    recent_start = now - timedelta(days=RECENT_DAYS)
    base_start = recent_start - timedelta(days=BASELINE_DAYS)
    bstats, brand_stats = _brand_stats(brand_id, now, recent_start, base_start)

    terms, tags = campaign_terms(idea)
    msgs = Message.objects.filter(organization_id=scope.organization_id, direction=Direction.IN)
    term_stats, term_rows = _term_stats(msgs, terms, now, recent_start, base_start)
    themes = _negative_themes(msgs, brand_id, now, recent_start)
    past = _past_hashtags(msgs, brand, now)
    result = temperature_check(bstats, term_stats, tags, brand.name)
    for p in past:
        if p["negative_share"] is not None and p["mentions"] >= 10 and p["negative_share"] >= 0.5:
            result.reasons.append(f"the brand's earlier hashtag {p['hashtag']} drew {p['negative_share']:.0%} negative")
    return {
        "brand_id": brand_id,
        "brand": brand.name,
        "idea": idea,
        "as_of": now.isoformat(),
        "anchored_to_latest": anchored,
        "score": result.score,
        "level": result.level,
        "reasons": result.reasons,
        "factors": result.factors,
        "brand_stats": brand_stats,
        "terms": term_rows,
        "hashtags": tags,
        "negative_themes": themes,
        "past_hashtags": past,
    }


def _brand_stats(
    brand_id: int, now: datetime, recent_start: datetime, base_start: datetime
) -> tuple[BrandStats, dict[str, Any]]:
    """The brand's mentions, recent and baseline, from the hourly rollups: for the score and for display."""
    roll = MentionRollup.objects.filter(brand_id=brand_id, grain=Grain.HOUR)
    rec = roll.filter(bucket__gte=recent_start, bucket__lt=now).aggregate(t=Sum("total"), n=Sum("negative"))
    base = roll.filter(bucket__gte=base_start, bucket__lt=recent_start).aggregate(t=Sum("total"), n=Sum("negative"))
    first = roll.aggregate(m=Min("bucket"))["m"]
    # a brand with less history than the baseline period: scale by the days it really covers
    base_days = BASELINE_DAYS
    if first is not None and first > base_start:
        base_days = max((recent_start - first).total_seconds() / 86400.0, 0.0)
    recent_days = RECENT_DAYS
    if first is not None and first > recent_start:
        recent_days = max((now - first).total_seconds() / 86400.0, 1 / 24)
    open_incidents = Incident.objects.filter(brand_id=brand_id, status=Incident.Status.OPEN).count()
    bstats = BrandStats(
        recent_total=rec["t"] or 0,
        recent_negative=rec["n"] or 0,
        baseline_total=base["t"] or 0,
        baseline_negative=base["n"] or 0,
        recent_days=recent_days,
        baseline_days=max(base_days, 1e-6),
        open_incidents=open_incidents,
    )
    shown = {
        "recent_total": bstats.recent_total,
        "recent_negative": bstats.recent_negative,
        "recent_negative_share": round(bstats.recent_negative / bstats.recent_total, 3)
        if bstats.recent_total
        else None,
        "baseline_total": bstats.baseline_total,
        "baseline_negative": bstats.baseline_negative,
        "baseline_negative_share": round(bstats.baseline_negative / bstats.baseline_total, 3)
        if bstats.baseline_total
        else None,
        "recent_days": round(recent_days, 2),
        "baseline_days": round(base_days, 2),
        "open_incidents": open_incidents,
        "missing_baseline": None if bstats.baseline_total else _missing_baseline(first, recent_start),
    }
    return bstats, shown


def _missing_baseline(first: datetime | None, recent_start: datetime) -> str:
    """Why there is no usual to compare with, and when there will be one.

    The baseline is the mentions before the recent week, so it starts to exist
    one recent period after the brand's first mention.
    """
    if first is None:
        return f"no mentions yet; a baseline exists {RECENT_DAYS} days after the first one"
    if first >= recent_start:
        ready = first + timedelta(days=RECENT_DAYS)
        return f"the first mention arrived {first:%d %b %Y}; a baseline exists from {ready:%d %b %Y %H:%M} UTC"
    return f"no mentions in the {BASELINE_DAYS} days before the last {RECENT_DAYS}; it returns with new mentions"


def _term_stats(
    msgs: QuerySet[Message], terms: list[str], now: datetime, recent_start: datetime, base_start: datetime
) -> tuple[list[TermStats], list[dict[str, Any]]]:
    """Mentions containing each campaign term, recent and baseline, with the recent negative examples."""
    term_stats: list[TermStats] = []
    term_rows = []
    for term in terms:
        around = msgs.filter(created_at__gte=base_start, created_at__lt=now, text__icontains=term)
        r = around.aggregate(
            rt=_count(Q(created_at__gte=recent_start)),
            rn=_count(Q(created_at__gte=recent_start, sentiment="negative")),
            bt=_count(Q(created_at__lt=recent_start)),
            bn=_count(Q(created_at__lt=recent_start, sentiment="negative")),
        )
        ts = TermStats(term, r["rt"] or 0, r["rn"] or 0, r["bt"] or 0, r["bn"] or 0)
        term_stats.append(ts)
        examples = list(
            around.filter(created_at__gte=recent_start, sentiment="negative")
            .order_by("-retweets", "-created_at")
            .values("id", "conversation_id", "text", "created_at")[:3]
        )
        term_rows.append(_term_dict(ts, examples))
    return term_stats, term_rows


def _negative_themes(
    msgs: QuerySet[Message], brand_id: int, now: datetime, recent_start: datetime
) -> list[dict[str, Any]]:
    """Top negative themes around the brand, recent period, with example posts."""
    neg = msgs.filter(brand_id=brand_id, created_at__gte=recent_start, created_at__lt=now, sentiment="negative")
    topics = Counter(dict(neg.values_list("topic").annotate(n=_count(Q())).values_list("topic", "n")))
    themes = []
    for topic, n in topics.most_common(5):
        if not topic:
            continue
        theme_examples = list(
            neg.filter(topic=topic).order_by("-retweets", "-created_at").values("id", "conversation_id", "text")[:2]
        )
        themes.append({"theme": topic, "mentions": n, "examples": theme_examples})
    return themes


def _past_hashtags(msgs: QuerySet[Message], brand: Brand, now: datetime) -> list[dict[str, Any]]:
    """How the brand's past hashtags fared (a year back, negative share)."""
    past = []
    for tag in (brand.hashtags or [])[:10]:
        t = tag if tag.startswith("#") else "#" + tag
        r = msgs.filter(brand_id=brand.pk, created_at__gte=now - timedelta(days=365), text__icontains=t).aggregate(
            t=_count(Q()), n=_count(Q(sentiment="negative"))
        )
        total = r["t"] or 0
        past.append(
            {
                "hashtag": t,
                "mentions": total,
                "negative": r["n"] or 0,
                "negative_share": round((r["n"] or 0) / total, 3) if total else None,
            }
        )
    return past


def _term_dict(ts: TermStats, examples: list[Any]) -> dict[str, Any]:
    return {
        "term": ts.term,
        "recent_total": ts.recent_total,
        "recent_negative": ts.recent_negative,
        "baseline_total": ts.baseline_total,
        "baseline_negative": ts.baseline_negative,
        "examples": examples,
    }


def _count(q: Q) -> Count:
    return Count("id", filter=q) if q else Count("id")
