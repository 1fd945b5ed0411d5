"""Voice of the customer: is what people say on social what customers answer in surveys?

Social mentions are a self-selected sample (the angry and the delighted post); a survey asks
customers who did not choose to speak. `compare` sets, for one organisation (optionally a brand and a
date range), the share of inbound social messages with each sentiment against the share of survey
responses with the same comment sentiment and in the matching score bucket (CSAT 1–2 dissatisfied,
4–5 satisfied; NPS 0–6 detractors, 9–10 promoters; a custom scale's bottom and top quarter), each
with a 95% Wilson interval, and the difference of the two shares with Newcombe's hybrid score
interval. The verdict says whether the difference is larger than the uncertainty. The statistics
are plain functions (`wilson`, `difference`, `verdict`) so they are tested against published values.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Max, Min, Model, Q, QuerySet, Value

from hubbub.inbox.models import Direction, Message
from hubbub.insights.models import Scale, SurveyResponse
from hubbub.tenancy.models import Brand, Role
from hubbub.tenancy.scoping import Scope, require_role, scoped

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal
MIN_N = 30  # below this on either side the verdict is "not enough data"
TOP_TOPICS = 8
M = TypeVar("M", bound=Model)


@dataclass(frozen=True, slots=True)
class Share:
    """k of n, the share and its 95% Wilson interval (fractions; `None` when n is 0)."""

    k: int
    n: int
    p: float | None
    lo: float | None
    hi: float | None

    def text(self) -> str:
        if self.p is None or self.lo is None or self.hi is None:
            return "no data"
        return f"{_pct(self.p)}% [{_pct(self.lo)}–{_pct(self.hi)}]"


@dataclass(frozen=True, slots=True)
class Difference:
    """p1 − p2 and its 95% interval (fractions)."""

    d: float
    lo: float
    hi: float

    def text(self) -> str:
        return f"{_pct(self.d)} pts [{_pct(self.lo)}–{_pct(self.hi)}]"


def _pct(x: float) -> int:
    return int(math.floor(x * 100 + 0.5)) if x >= 0 else -int(math.floor(-x * 100 + 0.5))


def wilson(k: int, n: int, z: float = Z95) -> Share:
    """Wilson score interval for k successes in n trials (Wilson 1927); it stays inside [0, 1]
    and keeps its coverage for small n and shares near 0 or 1, where p ± z·SE does not."""
    if n <= 0:
        return Share(k, n, None, None, None)
    if not 0 <= k <= n:
        raise ValueError(f"k must be between 0 and n, got {k} of {n}")
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return Share(k, n, p, lo, hi)


def difference(a: Share, b: Share) -> Difference | None:
    """a.p − b.p with Newcombe's hybrid score interval (Newcombe 1998, method 10), built from the two
    Wilson intervals: lo = d − √((p₁−l₁)² + (u₂−p₂)²), hi = d + √((u₁−p₁)² + (p₂−l₂)²)."""
    if a.p is None or b.p is None or a.lo is None or a.hi is None or b.lo is None or b.hi is None:
        return None
    d = a.p - b.p
    lo = d - math.sqrt((a.p - a.lo) ** 2 + (b.hi - b.p) ** 2)
    hi = d + math.sqrt((a.hi - a.p) ** 2 + (b.p - b.lo) ** 2)
    return Difference(d, max(-1.0, lo), min(1.0, hi))


#: measure tone → (word for "more", what a larger social share means, what a smaller one means)
READINGS = {
    "negative": (
        "negative",
        "the loud minority is not representative",
        "surveys hear dissatisfaction that social does not show",
    ),
    "positive": (
        "positive",
        "social flatters: surveys are less enthusiastic",
        "satisfied customers are quieter on social",
    ),
}


def verdict(social: Share, survey: Share, tone: str, min_n: int = MIN_N) -> tuple[str, str]:
    """(status, sentence): status is "insufficient", "consistent" or "different"."""
    if social.n < min_n or survey.n < min_n:
        return "insufficient", f"not enough data: n<{min_n} (social {social.n}, surveys {survey.n})"
    diff = difference(social, survey)
    assert diff is not None
    shares = f"{social.text()} vs {survey.text()}; difference {diff.text()}"
    if diff.lo <= 0 <= diff.hi:
        return "consistent", f"consistent within uncertainty: {shares}"
    word, larger, smaller = READINGS[tone]
    if diff.d > 0:
        return "different", f"social is more {word} than surveys: {shares} — {larger}"
    return "different", f"social is less {word} than surveys: {shares} — {smaller}"


@dataclass(frozen=True, slots=True)
class Measure:
    key: str
    label: str
    social_label: str
    survey_label: str
    tone: str
    social: Share
    survey: Share
    diff: Difference | None
    status: str
    verdict: str


#: key, label, tone (the social sentiment compared), survey side's label, its count and its total (in `compare`);
#: the score measures are shown when there are responses on that scale.
MEASURES = [
    ("negative", "Negative", "negative", "negative comments", "comments_negative", "comments"),
    ("positive", "Positive", "positive", "positive comments", "comments_positive", "comments"),
    ("csat_dissatisfied", "Dissatisfied (CSAT 1–2)", "negative", "CSAT 1–2", "csat_low", "csat"),
    ("csat_satisfied", "Satisfied (CSAT 4–5)", "positive", "CSAT 4–5", "csat_high", "csat"),
    ("nps_detractors", "Detractors (NPS 0–6)", "negative", "NPS 0–6", "detractors", "nps"),
    ("nps_promoters", "Promoters (NPS 9–10)", "positive", "NPS 9–10", "promoters", "nps"),
    ("other_dissatisfied", "Dissatisfied (other scales: bottom ¼)", "negative", "bottom ¼", "other_low", "other"),
    ("other_satisfied", "Satisfied (other scales: top ¼)", "positive", "top ¼", "other_high", "other"),
]

#: A custom scale (`--scale MIN-MAX`, or one read from the values) is bucketed like CSAT 1–5, by position on the
#: scale: satisfied from MIN + ¾·(MAX − MIN) up, dissatisfied up to MIN + ¼·(MAX − MIN), neutral between. On a 1–5
#: scale that is exactly CSAT's 4–5 / 1–2; on 1–7 the top two and bottom two boxes (6–7 / 1–2); on 0–100, 75+ / ≤25.
SATISFIED_FROM = Decimal("0.75")
DISSATISFIED_TO = Decimal("0.25")


def _position(share: Decimal) -> Any:
    """The score at `share` of the way up each response's own scale (a database expression)."""
    return ExpressionWrapper(
        F("scale_min") + (F("scale_max") - F("scale_min")) * Value(share), output_field=DecimalField()
    )


def other_low() -> Q:
    """Dissatisfied on a custom scale (see `SATISFIED_FROM`)."""
    return Q(scale=Scale.OTHER, score__lte=_position(DISSATISFIED_TO))


def other_high() -> Q:
    """Satisfied on a custom scale (see `SATISFIED_FROM`)."""
    return Q(scale=Scale.OTHER, score__gte=_position(SATISFIED_FROM))


def measure(
    key: str, label: str, tone: str, social: tuple[int, int], survey: tuple[int, int], labels: tuple[str, str]
) -> Measure:
    s, v = wilson(*social), wilson(*survey)
    status, sentence = verdict(s, v, tone)
    return Measure(key, label, labels[0], labels[1], tone, s, v, difference(s, v), status, sentence)


def topic_mix(social: Counter[str], survey: Counter[str], top: int = TOP_TOPICS) -> list[dict[str, Any]]:
    """The topics of the negatives on both sides, as counts and shares of each side's negatives."""
    ns, nv = sum(social.values()), sum(survey.values())
    share = {t: (social[t] / ns if ns else 0.0) + (survey[t] / nv if nv else 0.0) for t in social | survey}
    rows = []
    for t in sorted(share, key=lambda t: (-share[t], t))[:top]:
        rows.append(
            {
                "topic": t,
                "social": social[t],
                "social_share": social[t] / ns if ns else None,
                "survey": survey[t],
                "survey_share": survey[t] / nv if nv else None,
            }
        )
    return rows


# ------------------------------------------------------------------ reading the data (Django)


def _surveys(scope: Scope, brand_id: int | None) -> QuerySet[SurveyResponse]:
    """The scope's survey responses; those without a brand count under "all brands" for users who see every brand."""
    qs = scoped(SurveyResponse.objects.all(), scope, brand_field=None)
    if brand_id is not None:
        return qs.filter(brand_id=brand_id)
    all_brands = set(Brand.objects.filter(organization_id=scope.organization_id).values_list("id", flat=True))
    if all_brands <= scope.brand_ids:
        return qs.filter(Q(brand_id__in=scope.brand_ids) | Q(brand__isnull=True))
    return qs.filter(brand_id__in=scope.brand_ids)


def _window(qs: QuerySet[M], field: str, start: datetime | None, end: datetime | None) -> QuerySet[M]:
    if start is not None:
        qs = qs.filter(**{f"{field}__gte": start})
    if end is not None:
        qs = qs.filter(**{f"{field}__lt": end})
    return qs


def compare(
    scope: Scope, brand_id: int | None = None, start: datetime | None = None, end: datetime | None = None
) -> dict[str, Any]:
    """Social mentions against survey responses for the scope (a brand of it, `[start, end)`).

    Without dates the window is the span of the surveys in whole UTC days, so both sides cover the same time;
    `result["end"]` is exclusive.
    """
    require_role(scope, Role.ANALYST)
    if brand_id is not None and brand_id not in scope.brand_ids:
        brand_id = None
    surveys = _surveys(scope, brand_id)
    social = scoped(Message.objects.filter(direction=Direction.IN), scope)
    if brand_id is not None:
        social = social.filter(brand_id=brand_id)
    if start is None and end is None:
        span = surveys.aggregate(first=Min("submitted_at"), last=Max("submitted_at"))
        if span["first"] is not None:  # whole UTC days, from the first response's to the last one's
            start = span["first"].astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            end = span["last"].astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    surveys = _window(surveys, "submitted_at", start, end)
    social = _window(social, "created_at", start, end)

    soc = Counter(dict(social.exclude(sentiment="").values_list("sentiment").annotate(n=Count("id"))))
    soc_n = sum(soc.values())
    com = Counter(dict(surveys.exclude(sentiment="").values_list("sentiment").annotate(n=Count("id"))))
    com_n = sum(com.values())
    b = surveys.aggregate(
        total=Count("id"),
        csat=Count("id", filter=Q(scale=Scale.CSAT)),
        csat_low=Count("id", filter=Q(scale=Scale.CSAT, score__lte=2)),
        csat_high=Count("id", filter=Q(scale=Scale.CSAT, score__gte=4)),
        nps=Count("id", filter=Q(scale=Scale.NPS)),
        detractors=Count("id", filter=Q(scale=Scale.NPS, score__lte=6)),
        promoters=Count("id", filter=Q(scale=Scale.NPS, score__gte=9)),
        other=Count("id", filter=Q(scale=Scale.OTHER)),
        other_low=Count("id", filter=other_low()),
        other_high=Count("id", filter=other_high()),
    )
    survey = {
        **b,
        "comments": com_n,
        "comments_negative": com["negative"],
        "comments_positive": com["positive"],
    }
    measures = [
        measure(key, label, tone, (soc[tone], soc_n), (survey[k], survey[n]), (f"{tone} mentions", survey_label))
        for key, label, tone, survey_label, k, n in MEASURES
        if n == "comments" or survey[n]
    ]
    negative_surveys = surveys.filter(
        Q(sentiment="negative") | Q(scale=Scale.CSAT, score__lte=2) | Q(scale=Scale.NPS, score__lte=6) | other_low()
    ).exclude(topic="")
    topics = topic_mix(
        Counter(
            dict(social.filter(sentiment="negative").exclude(topic="").values_list("topic").annotate(n=Count("id")))
        ),
        Counter(dict(negative_surveys.values_list("topic").annotate(n=Count("id")))),
    )
    return {
        "brand_id": brand_id,
        "start": start,
        "end": end,
        "social_total": soc_n,
        "survey_total": b["total"],
        "survey_comments": com_n,
        "csat_responses": b["csat"],
        "nps_responses": b["nps"],
        "other_responses": b["other"],
        "nps": round(100 * (b["promoters"] - b["detractors"]) / b["nps"]) if b["nps"] else None,
        "measures": measures,
        "topics": topics,
    }
