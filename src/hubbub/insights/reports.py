"""Care-team reports: response times, SLA attainment, volume and sentiment, agents and teams, CSAT.

Every figure is computed by the database (GROUP BY, window functions), never by a Python loop over
conversations or messages, so the pages stay fast on an inbox of hundreds of thousands of mentions;
Python only folds the few grouped rows into tables. Every query starts from `tenancy.scoping.scoped`.

The unit of the conversation reports is the *cohort*: customer-started, non-spam conversations whose
first message falls in the date range. Response times, SLA attainment and agent figures all count the
same conversations, so their totals agree with each other. Volume counts inbound messages by the day
they were written; CSAT counts responses by the day they were submitted. Days are UTC days.

SLA attainment reads the stored clocks (`workflow.SLAClock`), the same rows the inbox counts down by:
a stopped clock has its outcome (met, breached, cancelled); a clock still running counts as breached
once it has passed its due time (as the inbox shows it overdue), else as running.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from hubbub.crm.models import Interaction
from hubbub.inbox.models import Conversation, Direction, Message
from hubbub.insights.models import Scale, SurveyResponse
from hubbub.tenancy.models import Brand, Role, Team
from hubbub.tenancy.scoping import Scope, scoped
from hubbub.workflow.models import Metric, SLAClock

DEFAULT_DAYS = 30
MAX_DAYS = 731  # two years: a longer range is refused rather than silently cut
SENTIMENTS = ("negative", "neutral", "positive")
SLA_METRICS = (Metric.FIRST_RESPONSE, Metric.RESOLUTION)
SLA_STATES = ("met", "breached", "running", "cancelled")
CSAT_SCORES = (1, 2, 3, 4, 5)


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filters:
    """What a report is about: days `start`..`end` (both included, UTC), one brand or all, one team or all."""

    start: date
    end: date
    brand_id: int | None = None
    team_id: int | None = None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, UTC)

    @property
    def until(self) -> datetime:
        """The instant after the last day (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, UTC)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def query(self) -> dict[str, str]:
        """The filters as query parameters (links to the other tabs and the CSV exports keep them)."""
        params = {"from": self.start.isoformat(), "to": self.end.isoformat(), "brand": "", "team": ""}
        if self.brand_id is not None:
            params["brand"] = str(self.brand_id)
        if self.team_id is not None:
            params["team"] = str(self.team_id)
        return params


def _day(value: Any, name: str) -> date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{name}' is written YYYY-MM-DD (got {text[:20]!r}).") from None


def _id(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def parse_filters(
    scope: Scope, params: Mapping[str, Any], default_brand: int | None = None, today: date | None = None
) -> Filters:
    """Filters from query parameters `from`, `to`, `brand`, `team`.

    No dates: the last 30 days up to today. `brand` absent falls back to `default_brand` (the brand
    switcher); an empty `brand` means all brands. A brand or team outside the scope is treated as "all"
    (its existence is not revealed). Raises ValueError for a malformed date or a reversed or too long range.
    """
    today = today or timezone.now().astimezone(UTC).date()
    end = _day(params.get("to"), "to")
    start = _day(params.get("from"), "from")
    if end is None:
        end = today if start is None else max(start, min(today, start + timedelta(days=DEFAULT_DAYS - 1)))
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise ValueError(f"The range starts ({start}) after it ends ({end}).")
    if (end - start).days + 1 > MAX_DAYS:
        raise ValueError(f"A report covers at most {MAX_DAYS} days; narrow the range.")
    brand_id = _id(params["brand"]) if "brand" in params else default_brand
    if brand_id not in scope.brand_ids:
        brand_id = None
    team_id = _id(params.get("team"))
    if team_id is not None and not Team.objects.filter(organization_id=scope.organization_id, pk=team_id).exists():
        team_id = None
    return Filters(start=start, end=end, brand_id=brand_id, team_id=team_id)


# --------------------------------------------------------------------------- SQL building blocks


class Seconds(Func):
    """Seconds from the second expression to the first, to the millisecond, in the database.

    SQLite keeps datetimes as text: julianday() differences are exact to well under a millisecond,
    and rounding to milliseconds makes the result independent of that float noise (so a percentile
    of whole-second data rounds the way Python's timedelta arithmetic does).
    """

    arity = 2
    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="ROUND((julianday(%(expressions)s)) * 86400.0, 3)",
            arg_joiner=") - julianday(",
            **extra,
        )

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        extra.setdefault("template", "CAST(ROUND(CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS numeric), 3) AS float)")
        extra.setdefault("arg_joiner", " - ")
        return super().as_sql(compiler, connection, **extra)


class UTCDay(Func):
    """The UTC calendar day of a datetime as 'YYYY-MM-DD' (SQLite stores UTC text: its first 10 characters)."""

    arity = 1
    output_field = TextField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="substr(%(expressions)s, 1, 10)", **extra)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        extra.setdefault("template", "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
        return super().as_sql(compiler, connection, **extra)


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


MISSING = -1e18  # what the duration query returns for "no reply / not resolved yet" (SQL has no NaN)
TIMES = {"first_response": "first_response_at", "resolution": "resolved_at"}


def _stats(seconds: np.ndarray[Any, Any]) -> dict[str, float | int | None]:
    if not len(seconds):
        return dict(EMPTY_TIMES)
    p50, p90, p95 = np.percentile(seconds, [50, 90, 95])
    return {
        "count": int(len(seconds)),
        "p50": _minutes(float(p50)),
        "p90": _minutes(float(p90)),
        "p95": _minutes(float(p95)),
        "mean": _minutes(float(seconds.mean())),
    }


def time_stats(qs: QuerySet[Conversation], groupings: Sequence[str | None]) -> dict[str | None, dict[Any, Any]]:
    """Conversations, and first-response and resolution minutes (count, p50/p90/p95, mean), per group.

    `groupings` are Conversation fields (`brand_id`, `team_id`, `assignee_id`) or None for all together:
    {grouping: {group value: {"conversations": n, "first_response": stats, "resolution": stats}}}.

    SQLite has no percentile aggregate, and ranking in SQL (window functions) cost one sort of the
    cohort per group field and metric, ~130 ms each at 50,000 conversations. So the database computes
    each conversation's two durations (seconds, to the millisecond) in one pass and returns only those
    numbers and the group ids; numpy takes every grouping's percentiles from that one result
    (numpy's default linear interpolation; negative spans, clock skew, count as 0).
    """
    fields = sorted({g for g in groupings if g})
    durations = {
        name: Coalesce(Seconds(F(end), F("first_message_at")), Value(MISSING), output_field=FloatField())
        for name, end in TIMES.items()
    }
    query = (
        qs.order_by()
        .annotate(
            **{f"g_{f}": Coalesce(F(f), Value(-1)) for f in fields}, **{f"d_{n}": e for n, e in durations.items()}
        )
        .values_list(*[f"g_{f}" for f in fields], *[f"d_{n}" for n in TIMES])
    )
    # Plain numbers only: the cursor's rows go straight to numpy, past the ORM's per-row converters.
    sql, params = query.query.sql_with_params()
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in range(len(fields) + len(TIMES))]
    group_ids = {f: np.asarray(columns[i], dtype=np.int64) for i, f in enumerate(fields)}
    values = {n: np.asarray(columns[len(fields) + i], dtype=float) for i, n in enumerate(TIMES)}
    present = {n: v > MISSING / 2 for n, v in values.items()}
    clamped = {n: np.maximum(v, 0.0) for n, v in values.items()}
    out: dict[str | None, dict[Any, Any]] = {}
    for grouping in groupings:
        if grouping is None:
            masks: dict[Any, np.ndarray[Any, Any]] = {None: np.ones(len(rows), dtype=bool)} if rows else {}
        else:
            ids = group_ids[grouping]
            masks = {(None if g == -1 else int(g)): ids == g for g in np.unique(ids)}
        out[grouping] = {
            key: {
                "conversations": int(mask.sum()),
                **{n: _stats(clamped[n][mask & present[n]]) for n in TIMES},
            }
            for key, mask in masks.items()
        }
    return out


EMPTY_TIMES: dict[str, float | int | None] = {"count": 0, "p50": None, "p90": None, "p95": None, "mean": None}


def _cohort(f: Filters, prefix: str = "") -> Q:
    """The report's conversations as a filter on a model that reaches Conversation through `prefix`."""
    q = Q(
        **{
            f"{prefix}first_message_at__gte": f.since,
            f"{prefix}first_message_at__lt": f.until,
            f"{prefix}author__is_brand_account": False,
            f"{prefix}is_spam": False,
        }
    )
    if f.brand_id is not None:
        q &= Q(**{f"{prefix}brand_id": f.brand_id})
    if f.team_id is not None:
        q &= Q(**{f"{prefix}team_id": f.team_id})
    return q


def conversations(scope: Scope, f: Filters) -> QuerySet[Conversation]:
    return scoped(Conversation.objects.all(), scope).filter(_cohort(f))


def _brand_names(scope: Scope) -> dict[int, str]:
    return dict(scope.brands().values_list("id", "name"))


def _team_names(scope: Scope) -> dict[int, str]:
    return dict(Team.objects.filter(organization_id=scope.organization_id).values_list("id", "name"))


def _user_names(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    users = get_user_model().objects.filter(pk__in=wanted)
    return {u.pk: (u.get_full_name() or u.get_username()) for u in users}


def _sees_brandless(scope: Scope, f: Filters) -> bool:
    """Rows without a brand (survey responses, CRM interactions) count under "all brands" for users
    who see every brand of the organisation; never under one brand nor for a brand-restricted user."""
    if f.brand_id is not None:
        return False
    every = set(Brand.objects.filter(organization_id=scope.organization_id).values_list("id", flat=True))
    return every <= scope.brand_ids


def _named(ids: Iterable[Any], names: Mapping[int, str], none_label: str) -> list[tuple[Any, str]]:
    """Ids with display names, sorted by name, the None group (if any) last."""
    present = sorted({i for i in ids if i is not None}, key=lambda i: (names.get(i, f"#{i}").lower(), i))
    out = [(i, names.get(i, f"#{i}")) for i in present]
    if any(i is None for i in ids):
        out.append((None, none_label))
    return out


# --------------------------------------------------------------------------- response times


def response_times(scope: Scope, f: Filters) -> dict[str, Any]:
    """First-response and resolution minutes per brand for the cohort (the Response times tab)."""
    stats = time_stats(conversations(scope, f), ["brand_id", None])
    by_brand, overall = stats["brand_id"], stats[None]

    def row(s: Mapping[str, Any] | None) -> dict[str, Any]:
        s = s or {"conversations": 0}
        return {
            "conversations": s["conversations"],
            "first_response_minutes": s.get("first_response", EMPTY_TIMES),
            "resolution_minutes": s.get("resolution", EMPTY_TIMES),
        }

    rows = [{"brand_id": i, "brand": name, **row(by_brand[i])} for i, name in _named(by_brand, _brand_names(scope), "")]
    return {"filters": f.query(), "brands": rows, "total": row(overall.get(None))}


# --------------------------------------------------------------------------- SLA


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
            "met_pct": _pct(self.met, counted),
            "breached_pct": _pct(self.breached, counted),
            "running_pct": _pct(self.running, counted),
            # of the clocks that have an outcome: the attainment figure a contract quotes
            "attainment_pct": _pct(self.met, decided),
        }


def _clock_state(now: datetime) -> Case:
    """The state a clock is in *now*, by the same rules `workflow.sla.stop` decides an outcome with."""
    return Case(
        When(outcome="met", then=Value("met")),
        When(outcome="breached", then=Value("breached")),
        When(outcome="cancelled", then=Value("cancelled")),
        When(breached_at__isnull=False, then=Value("breached")),
        When(state=SLAClock.State.RUNNING, due_at__lt=now, then=Value("breached")),
        When(state=SLAClock.State.PAUSED, used_seconds__gt=F("target_seconds"), then=Value("breached")),
        default=Value("running"),
        output_field=TextField(),
    )


def sla_counts(
    scope: Scope, f: Filters, groupings: Sequence[str | None], now: datetime | None = None
) -> dict[str | None, dict[Any, dict[str, Attainment]]]:
    """{grouping: {group value: {metric: Attainment}}} for the cohort's first-response and resolution clocks.

    One GROUP BY over every grouping field at once (`brand_id`, `team_id`, `assignee_id` of the
    conversation; None for all together), folded here per grouping: one pass over the clocks per page.
    """
    fields = sorted({g for g in groupings if g})
    qs = scoped(SLAClock.objects.all(), scope, brand_field="conversation__brand_id").filter(
        _cohort(f, "conversation__"), metric__in=list(SLA_METRICS)
    )
    rows = (
        qs.order_by()
        .annotate(current=_clock_state(now or timezone.now()), **{f"g_{g}": F(f"conversation__{g}") for g in fields})
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


def _sla_dict(groups: Mapping[str, Attainment] | None) -> dict[str, Any]:
    groups = groups or {}
    return {str(m): (groups.get(m) or Attainment()).as_dict() for m in SLA_METRICS}


def sla(scope: Scope, f: Filters, now: datetime | None = None) -> dict[str, Any]:
    """SLA attainment (first response, resolution) per brand and per team, with the overall figures."""
    counts = sla_counts(scope, f, ["brand_id", "team_id", None], now)
    by_brand, by_team, overall = counts["brand_id"], counts["team_id"], counts[None]
    return {
        "filters": f.query(),
        "total": _sla_dict(overall.get(None)),
        "brands": [
            {"brand_id": i, "brand": name, **_sla_dict(by_brand[i])}
            for i, name in _named(by_brand, _brand_names(scope), "")
        ],
        "teams": [
            {"team_id": i, "team": name, **_sla_dict(by_team[i])}
            for i, name in _named(by_team, _team_names(scope), "No team")
        ],
    }


# --------------------------------------------------------------------------- volume and sentiment


def _sentiment_row(counts: Mapping[str, int]) -> dict[str, Any]:
    total = sum(counts.values())
    row: dict[str, Any] = {"messages": total}
    for s in (*SENTIMENTS, "unlabelled"):
        row[s] = counts.get(s, 0)
    for s in SENTIMENTS:
        row[f"{s}_pct"] = _pct(counts.get(s, 0), total)
    return row


def volume(scope: Scope, f: Filters) -> dict[str, Any]:
    """Inbound messages per UTC day and per brand, split by sentiment label (unlabelled kept apart)."""
    qs = scoped(Message.objects.all(), scope).filter(
        direction=Direction.IN, created_at__gte=f.since, created_at__lt=f.until
    )
    if f.brand_id is not None:
        qs = qs.filter(brand_id=f.brand_id)
    if f.team_id is not None:
        qs = qs.filter(conversation__team_id=f.team_id)
    grouped = (
        qs.order_by()
        .annotate(day=UTCDay("created_at"))
        .values("day", "brand_id", "sentiment")
        .annotate(n=Count("id"))
        .values_list("day", "brand_id", "sentiment", "n")
    )
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_brand: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_brand_day: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, brand_id, sentiment, n in grouped:
        label = sentiment if sentiment in SENTIMENTS else "unlabelled"
        per_day[day][label] += n
        per_brand[brand_id][label] += n
        per_brand_day[(brand_id, day)][label] += n
    names = _brand_names(scope)
    days = [{"day": d.isoformat(), **_sentiment_row(per_day.get(d.isoformat(), {}))} for d in f.days]
    n_days = len(days)
    brands = [
        {
            "brand_id": i,
            "brand": name,
            **_sentiment_row(per_brand[i]),
            "per_day": round(sum(per_brand[i].values()) / n_days, 1),
        }
        for i, name in _named(per_brand, names, "")
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


# --------------------------------------------------------------------------- CSAT


def _csat_stats(dist: Mapping[int, int], total: Decimal | float, n: int) -> dict[str, Any]:
    return {
        "responses": n,
        "average": round(float(total) / n, 2) if n else None,
        "satisfied_pct": _pct(dist.get(4, 0) + dist.get(5, 0), n),
        "dissatisfied_pct": _pct(dist.get(1, 0) + dist.get(2, 0), n),
        **{f"score_{s}": dist.get(s, 0) for s in CSAT_SCORES},
    }


@dataclass
class _Scores:
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


def _csat_interactions(scope: Scope, f: Filters) -> QuerySet[Interaction] | None:
    """CSAT answers logged in the CRM (they have an author, no brand and no conversation); None when
    brandless rows do not count for this selection."""
    if not _sees_brandless(scope, f):
        return None
    qs = scoped(Interaction.objects.all(), scope, brand_field=None).filter(
        kind=Interaction.Kind.CSAT, score__isnull=False, occurred_at__gte=f.since, occurred_at__lt=f.until
    )
    if f.team_id is not None:
        qs = qs.filter(author__hubbub_teams__id=f.team_id)
    return qs


def _interaction_scores(scope: Scope, f: Filters, key: str) -> dict[Any, _Scores]:
    qs = _csat_interactions(scope, f)
    out: dict[Any, _Scores] = defaultdict(_Scores)
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
    elif _sees_brandless(scope, f):
        surveys = surveys.filter(Q(brand_id__in=scope.brand_ids) | Q(brand__isnull=True))
    else:
        surveys = surveys.filter(brand_id__in=scope.brand_ids)
    per_brand: dict[int | None, _Scores] = defaultdict(_Scores)
    total = _Scores()
    rows = surveys.order_by().values("brand_id", "score").annotate(n=Count("id")).values_list("brand_id", "score", "n")
    for brand_id, score, n in rows:
        per_brand[brand_id].add(score, n)
        total.add(score, n)
    per_agent = _interaction_scores(scope, f, "author_id")
    agent_total = _Scores()
    for scores in per_agent.values():
        for s, n in scores.dist.items():
            agent_total.dist[s] += n
        agent_total.total += scores.total
        agent_total.n += scores.n
    visible = _visible_agents(scope, per_agent)
    names = _user_names(visible)
    return {
        "filters": f.query(),
        "surveys": {
            "total": total.as_dict(),
            "brands": [
                {"brand_id": i, "brand": name, **per_brand[i].as_dict()}
                for i, name in _named(per_brand, _brand_names(scope), "No brand")
            ],
        },
        "interactions": {
            "counted": _csat_interactions(scope, f) is not None,
            "total": agent_total.as_dict(),
            "agents": [
                {"user_id": i, "agent": name, **per_agent[i].as_dict()}
                for i, name in _named(visible, names, "Unknown agent")
            ],
        },
        "team_filter_applies_to_surveys": False,
    }


# --------------------------------------------------------------------------- agents and teams


def _visible_agents(scope: Scope, ids: Iterable[Any]) -> list[Any]:
    """Agents see their own row only: colleagues' individual figures are for supervisors and analysts."""
    ids = list(ids)
    if scope.role == Role.AGENT:
        return [i for i in ids if i == scope.membership.user_id]
    return ids


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
                "sla": _sla_dict(slas.get(i)),
            }
        )
    return rows


def agents(scope: Scope, f: Filters) -> dict[str, Any]:
    """Per agent (the conversation's assignee) and per team: conversations of the cohort, how many were
    replied to and resolved, response and resolution percentiles, SLA attainment, replies the agent
    sent in the range, and the average of the CSAT answers they logged in the CRM (where there are any).

    "Replied" and "resolved" count conversations with a first response / a resolution time."""
    times = time_stats(conversations(scope, f), ["assignee_id", "team_id"])
    slas = sla_counts(scope, f, ["assignee_id", "team_id"])
    sent_qs = scoped(Message.objects.all(), scope).filter(
        direction=Direction.OUT, sent_by__isnull=False, created_at__gte=f.since, created_at__lt=f.until
    )
    if f.brand_id is not None:
        sent_qs = sent_qs.filter(brand_id=f.brand_id)
    if f.team_id is not None:
        sent_qs = sent_qs.filter(conversation__team_id=f.team_id)
    sent = dict(sent_qs.order_by().values("sent_by_id").annotate(n=Count("id")).values_list("sent_by_id", "n"))
    agent_csat = _interaction_scores(scope, f, "author_id")
    assignees = {i for i in times["assignee_id"] if i is not None}
    ids = _visible_agents(scope, assignees | set(sent) | {i for i in agent_csat if i is not None})
    agent_rows = _people_rows(_named(ids, _user_names(ids), ""), times["assignee_id"], slas["assignee_id"])
    for row in agent_rows:
        scores = agent_csat.get(row["id"])
        row["replies_sent"] = sent.get(row["id"], 0)
        row["csat_average"] = scores.as_dict()["average"] if scores else None
        row["csat_responses"] = scores.n if scores else 0
    team_csat = _interaction_scores(scope, f, "author__hubbub_teams")
    teams = _named(times["team_id"], _team_names(scope), "No team")
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
        "csat_counted": _csat_interactions(scope, f) is not None,
    }


# --------------------------------------------------------------------------- flat tables (CSV)

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


REPORTS = {
    "response-times": response_times,
    "sla": sla,
    "volume": volume,
    "agents": agents,
    "csat": csat,
}
