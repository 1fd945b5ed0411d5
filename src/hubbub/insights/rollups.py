"""Daily rollups of the Reports: derived from the rows per UTC day, stored, kept fresh by marks.

Why: the conversation reports used to read every conversation and clock of the range on each request (2–10 s
at 1,000,000 conversations). A day's figures only change when something happens to that day's cohort or
messages, so they are folded once per (organisation, day) into `ConversationRollup` (day × brand × team ×
assignee) and `MessageRollup` (day × brand × team × sentiment or sender), and the pages fold those rows.

Freshness: the inbox's signals (and ingest's and workflow's) mark the touched (organisation, day) pairs after
their change commits (`mark`, `insights.rollup_hooks`), and `hubbub restore` marks every day
(`mark_everything`); the periodic task rebuilds marked days (`rebuild_marked`), and the CLI rebuilds any range
(`hubbub report rebuild`). A reader never waits for either: a day that is not clean
(never built, or marked since) is derived from the rows for that request (`derive_conversations`,
`derive_messages`: the same code the build stores), so the figures are those of a direct computation
whatever the state of the rollups. Typically only today is derived.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from django.db import connections, transaction
from django.db.models import Case, Count, F, FloatField, Max, Min, Q, TextField, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from hubbub.inbox.models import Conversation, Direction, Message
from hubbub.insights.models import ConversationRollup, MessageRollup, ReportDay
from hubbub.insights.report_filters import Filters
from hubbub.insights.report_queries import MISSING, TIMES, Seconds, UTCDay, cohort
from hubbub.insights.rollup_hist import histogram
from hubbub.workflow.models import Metric, SLAClock

log = logging.getLogger("hubbub.insights.rollups")

SLA_METRICS = (Metric.FIRST_RESPONSE, Metric.RESOLUTION)
GROUP = ("brand_id", "team_id", "assignee_id")
#: Days re-marked by the hourly safety net (a mark lost with a crashed worker between commit and mark).
RECENT_DAYS = 2
#: An instant before every due time: a clock state taken "now" = then counts every unstopped clock as running.
BEFORE_ANY_DUE = datetime(1970, 1, 1, tzinfo=UTC)


def clock_state(now: datetime) -> Case:
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


def _cohort(org_id: int, start: date, end: date, prefix: str = "") -> Q:
    """The reports' cohort (`report_queries.cohort`) of days `start`..`end`, every brand of one organisation."""
    return cohort(Filters(start=start, end=end), prefix) & Q(**{f"{prefix}organization_id": org_id})


def _durations(org_id: int, start: date, end: date) -> list[tuple[Any, ...]]:
    """(day, brand, team, assignee, first response s, resolution s) of every cohort conversation: plain
    numbers from the cursor (the ORM's per-row converters cost more than the query)."""
    spans = {
        n: Coalesce(Seconds(F(end_), F("first_message_at")), Value(MISSING), output_field=FloatField())
        for n, end_ in TIMES.items()
    }
    query = (
        Conversation.objects.filter(_cohort(org_id, start, end))
        .order_by()
        .annotate(d=UTCDay("first_message_at"), **{f"t_{n}": e for n, e in spans.items()})
        .values_list("d", *GROUP, *[f"t_{n}" for n in TIMES])
    )
    sql, params = query.query.sql_with_params()
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _clocks(org_id: int, start: date, end: date) -> dict[tuple[Any, ...], dict[str, Any]]:
    """{(day, brand, team, assignee): {metric: {state: n}, "<metric>_due": [epoch…]}} for the cohort's clocks.

    Whether a running clock is overdue depends on when the report is read, so those clocks are not counted
    but kept as their due instants; everything else about a clock is settled until it changes."""
    base = SLAClock.objects.filter(_cohort(org_id, start, end, "conversation__"), metric__in=list(SLA_METRICS))
    keys = {"d": UTCDay("conversation__first_message_at"), **{f"g_{g}": F(f"conversation__{g}") for g in GROUP}}
    columns = ["d", *[f"g_{g}" for g in GROUP], "metric"]
    out: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(dict)

    def slot(row: tuple[Any, ...]) -> dict[str, Any]:
        return out[row[:4]].setdefault(row[4], {"met": 0, "breached": 0, "running": 0, "cancelled": 0})

    grouped = base.order_by().annotate(current=clock_state(BEFORE_ANY_DUE), **keys).values(*columns, "current")
    for *row, state, n in grouped.annotate(n=Count("id")).values_list(*columns, "current", "n"):
        slot(tuple(row))[state] += n
    # Counted as running above (nothing is due before BEFORE_ANY_DUE): moved to their due instants.
    pending = base.filter(
        ~Q(outcome__in=["met", "breached", "cancelled"]),
        breached_at__isnull=True,
        state=SLAClock.State.RUNNING,
        due_at__isnull=False,
    )
    for *row, due in pending.order_by().annotate(**keys).values_list(*columns, "due_at"):
        slot(tuple(row))["running"] -= 1
        out[tuple(row[:4])].setdefault(f"{row[4]}_due", []).append(due.timestamp())
    return out


def derive_conversations(org_id: int, start: date, end: date) -> list[dict[str, Any]]:
    """The `ConversationRollup` rows of days `start`..`end` as dicts, computed from the conversations and
    clocks (two queries for the whole range)."""
    rows = _durations(org_id, start, end)
    clocks = _clocks(org_id, start, end)
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[row[:4]].append(i)
    spans = {n: np.asarray([r[4 + k] for r in rows], dtype=float) for k, n in enumerate(TIMES)}
    out = []
    for key in groups.keys() | clocks.keys():
        members = np.asarray(groups.get(key, []), dtype=np.int64)
        hists = {}
        for name, values in spans.items():
            picked = values[members] if len(members) else values[:0]
            hists[name] = histogram(np.maximum(picked[picked > MISSING / 2], 0.0))
        sla = clocks.get(key, {})
        due = {f"{m}_due": np.asarray(sla.pop(f"{m}_due", []), dtype="<f8").tobytes() for m in SLA_METRICS}
        out.append(
            {
                "day": str(key[0]),
                **dict(zip(GROUP, key[1:], strict=True)),
                "conversations": len(members),
                "replied": int((spans["first_response"][members] > MISSING / 2).sum()),
                "resolved": int((spans["resolution"][members] > MISSING / 2).sum()),
                **hists,
                "sla": sla,
                **due,
            }
        )
    return out


def derive_messages(org_id: int, start: date, end: date) -> list[dict[str, Any]]:
    """The `MessageRollup` rows of days `start`..`end` as dicts: inbound messages per sentiment, agents'
    replies per sender, by brand and the conversation's team (two grouped queries)."""
    f = Filters(start=start, end=end)
    base = Message.objects.filter(organization_id=org_id, created_at__gte=f.since, created_at__lt=f.until).order_by()
    inbound = (
        base.filter(direction=Direction.IN)
        .annotate(d=UTCDay("created_at"), team=F("conversation__team_id"))
        .values("d", "brand_id", "team", "sentiment")
        .annotate(n=Count("id"))
        .values_list("d", "brand_id", "team", "sentiment", "n")
    )
    sent = (
        base.filter(direction=Direction.OUT, sent_by__isnull=False)
        .annotate(d=UTCDay("created_at"), team=F("conversation__team_id"))
        .values("d", "brand_id", "team", "sent_by_id")
        .annotate(n=Count("id"))
        .values_list("d", "brand_id", "team", "sent_by_id", "n")
    )
    out = [
        {
            "day": str(d),
            "brand_id": b,
            "team_id": t,
            "direction": Direction.IN,
            "sentiment": s or "",
            "sent_by_id": None,
            "messages": n,
        }
        for d, b, t, s, n in inbound
    ]
    out += [
        {
            "day": str(d),
            "brand_id": b,
            "team_id": t,
            "direction": Direction.OUT,
            "sentiment": "",
            "sent_by_id": u,
            "messages": n,
        }
        for d, b, t, u, n in sent
    ]
    return out


def rebuild(org_id: int, start: date, end: date, chunk_days: int = 31) -> int:
    """Store the rollups of days `start`..`end` of one organisation, a chunk of days per transaction;
    returns the number of days built. Each day is stamped with the instant its build started reading, so
    a change marked meanwhile keeps it dirty."""
    built = 0
    first = start
    while first <= end:
        last = min(end, first + timedelta(days=chunk_days - 1))
        started = timezone.now()
        conversations = derive_conversations(org_id, first, last)
        messages = derive_messages(org_id, first, last)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        with transaction.atomic():
            ConversationRollup.objects.filter(organization_id=org_id, day__gte=first, day__lte=last).delete()
            MessageRollup.objects.filter(organization_id=org_id, day__gte=first, day__lte=last).delete()
            ConversationRollup.objects.bulk_create(
                [
                    ConversationRollup(organization_id=org_id, **{**r, "day": date.fromisoformat(r["day"])})
                    for r in conversations
                ],
                batch_size=1000,
            )
            MessageRollup.objects.bulk_create(
                [MessageRollup(organization_id=org_id, **{**r, "day": date.fromisoformat(r["day"])}) for r in messages],
                batch_size=1000,
            )
            ReportDay.objects.bulk_create(
                [ReportDay(organization_id=org_id, day=d, built_at=started) for d in days],
                update_conflicts=True,
                unique_fields=["organization", "day"],
                update_fields=["built_at"],
            )
        built += len(days)
        first = last + timedelta(days=1)
    return built


def mark(org_id: int, days: Iterable[date]) -> None:
    """Mark days of an organisation as changed, once the current transaction commits (at once outside
    one): readers derive them from the rows until `rebuild_marked` has built them again."""
    wanted = sorted(set(days))
    if not wanted:
        return

    def write() -> None:
        now = timezone.now()
        ReportDay.objects.bulk_create(
            [ReportDay(organization_id=org_id, day=d, marked_at=now) for d in wanted],
            update_conflicts=True,
            unique_fields=["organization", "day"],
            update_fields=["marked_at"],
        )

    transaction.on_commit(write, robust=True)


def span(first: datetime, last: datetime | None) -> list[date]:
    """The UTC days from `first` to `last` (a conversation's messages), at most two years of them."""
    a = first.astimezone(UTC).date()
    b = max(a, (last or first).astimezone(UTC).date())
    return [a + timedelta(days=i) for i in range(min((b - a).days, 730) + 1)]


def cohort_days(conversation_ids: Iterable[int], whole_span: bool = False) -> dict[int, set[date]]:
    """{organisation: days} the conversations count on: their cohort day, and with `whole_span` every day
    their messages may fall on (a team change moves their messages between teams)."""
    out: dict[int, set[date]] = defaultdict(set)
    ids = list(conversation_ids)
    for start in range(0, len(ids), 500):
        rows = Conversation.objects.filter(pk__in=ids[start : start + 500]).values_list(
            "organization_id", "first_message_at", "last_message_at"
        )
        for org_id, first, last in rows:
            out[org_id].update(span(first, last) if whole_span else [first.astimezone(UTC).date()])
    return out


def dirty_days(org_id: int, start: date, end: date) -> set[date]:
    """The days of the range whose rollups are missing or older than their last mark."""
    clean = set(
        ReportDay.objects.filter(organization_id=org_id, day__gte=start, day__lte=end, built_at__isnull=False)
        .filter(Q(marked_at__isnull=True) | Q(marked_at__lt=F("built_at")))
        .values_list("day", flat=True)
    )
    return {start + timedelta(days=i) for i in range((end - start).days + 1)} - clean


def rebuild_marked(limit: int = 200) -> int:
    """Build the days marked since they were last built (oldest mark first, at most `limit`)."""
    marked = (
        ReportDay.objects.filter(marked_at__isnull=False)
        .filter(Q(built_at__isnull=True) | Q(built_at__lte=F("marked_at")))
        .order_by("marked_at")
        .values_list("organization_id", "day")[:limit]
    )
    done = 0
    for org_id, day in list(marked):
        done += rebuild(org_id, day, day)
    if done:
        log.info("report rollups: %d marked days rebuilt", done)
    return done


def mark_recent(today: date | None = None) -> None:
    """Re-mark the last `RECENT_DAYS` days of every organisation that has rollups: a mark lost between a
    commit and its write (a worker killed there) is caught within the hour."""
    today = today or timezone.now().astimezone(UTC).date()
    days = [today - timedelta(days=i) for i in range(RECENT_DAYS)]
    for org_id in ReportDay.objects.values_list("organization_id", flat=True).distinct():
        mark(org_id, days)


def mark_everything() -> int:
    """Mark every day of every organisation that has rows or rollups (after `hubbub restore`); returns how
    many (organisation, day) pairs. A restored database is one moment of the live one, and that moment may
    fall between a change's commit and its mark (written after the commit), which left the day clean over
    changed rows for good; marking every day costs one rebuild per day and leaves no such day."""
    spans: dict[int, list[datetime]] = defaultdict(list)
    for model, field in ((Conversation, "first_message_at"), (Message, "created_at")):
        rows = model.objects.order_by().values("organization_id").annotate(lo=Min(field), hi=Max(field))
        for row in rows.values_list("organization_id", "lo", "hi"):
            spans[row[0]] += [row[1], row[2]]
    days: dict[int, set[date]] = defaultdict(set)
    for org_id, instants in spans.items():
        first, last = (min(instants).astimezone(UTC).date(), max(instants).astimezone(UTC).date())
        days[org_id].update(first + timedelta(days=i) for i in range((last - first).days + 1))
    for org_id, day in ReportDay.objects.values_list("organization_id", "day"):
        days[org_id].add(day)
    for org_id, wanted in days.items():
        mark(org_id, wanted)
    return sum(len(d) for d in days.values())


def rebuild_range(org_id: int, start: date | None = None, end: date | None = None) -> int:
    """`rebuild` with defaults for the CLI: from the organisation's first conversation (or message) to today."""
    end = end or timezone.now().astimezone(UTC).date()
    if start is None:
        first_conversation = Conversation.objects.filter(organization_id=org_id).order_by("first_message_at").first()
        first_message = Message.objects.filter(organization_id=org_id).order_by("created_at").first()
        instants = [c.first_message_at for c in [first_conversation] if c]
        instants += [m.created_at for m in [first_message] if m]
        start = min(instants).astimezone(UTC).date() if instants else end
    return rebuild(org_id, start, end) if start <= end else 0
