"""The building blocks every conversation report shares: the cohort, durations and percentiles, names.

The *cohort* (`cohort`, `conversations`) is the unit of the conversation reports: customer-started,
non-spam conversations whose first message falls in the range. `time_stats` turns a cohort into
first-response and resolution percentiles for any grouping; the SQL functions here (`Seconds`, `UTCDay`)
work on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import F, FloatField, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Coalesce

from hubbub.inbox.models import Conversation
from hubbub.insights.report_filters import Filters
from hubbub.tenancy.models import Brand, Role, Team
from hubbub.tenancy.scoping import Scope, scoped


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


def pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


MISSING = -1e18  # what the duration query returns for "no reply / not resolved yet" (SQL has no NaN)
TIMES = {"first_response": "first_response_at", "resolution": "resolved_at"}


def stats(seconds: np.ndarray[Any, Any]) -> dict[str, float | int | None]:
    if not len(seconds):
        return dict(EMPTY_TIMES)
    p50, p90, p95 = np.percentile(seconds, [50, 90, 95])
    return {
        "count": int(len(seconds)),
        "p50": minutes(float(p50)),
        "p90": minutes(float(p90)),
        "p95": minutes(float(p95)),
        "mean": minutes(float(seconds.mean())),
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
                **{n: stats(clamped[n][mask & present[n]]) for n in TIMES},
            }
            for key, mask in masks.items()
        }
    return out


EMPTY_TIMES: dict[str, float | int | None] = {"count": 0, "p50": None, "p90": None, "p95": None, "mean": None}


def cohort(f: Filters, prefix: str = "") -> Q:
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
    return scoped(Conversation.objects.all(), scope).filter(cohort(f))


def brand_names(scope: Scope) -> dict[int, str]:
    return dict(scope.brands().values_list("id", "name"))


def team_names(scope: Scope) -> dict[int, str]:
    return dict(Team.objects.filter(organization_id=scope.organization_id).values_list("id", "name"))


def user_names(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    users = get_user_model().objects.filter(pk__in=wanted)
    return {u.pk: (u.get_full_name() or u.get_username()) for u in users}


def sees_brandless(scope: Scope, f: Filters) -> bool:
    """Rows without a brand (survey responses, CRM interactions) count under "all brands" for users
    who see every brand of the organisation; never under one brand nor for a brand-restricted user."""
    if f.brand_id is not None:
        return False
    every = set(Brand.objects.filter(organization_id=scope.organization_id).values_list("id", flat=True))
    return every <= scope.brand_ids


def named(ids: Iterable[Any], names: Mapping[int, str], none_label: str) -> list[tuple[Any, str]]:
    """Ids with display names, sorted by name, the None group (if any) last."""
    present = sorted({i for i in ids if i is not None}, key=lambda i: (names.get(i, f"#{i}").lower(), i))
    out = [(i, names.get(i, f"#{i}")) for i in present]
    if any(i is None for i in ids):
        out.append((None, none_label))
    return out


def visible_agents(scope: Scope, ids: Iterable[Any]) -> list[Any]:
    """Agents see their own row only: colleagues' individual figures are for supervisors and analysts."""
    ids = list(ids)
    if scope.role == Role.AGENT:
        return [i for i in ids if i == scope.membership.user_id]
    return ids
