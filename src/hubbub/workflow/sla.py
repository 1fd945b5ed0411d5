"""SLA clocks: start, pause while pending, resume, stop, and the periodic warning/breach sweep.

A clock measures business time (the policy's business hours in the team's time zone)
against a target chosen by metric and priority. While it runs it carries wall-clock
`warn_at` and `due_at` instants, so the periodic sweep is two indexed range queries;
pausing folds the business seconds used so far into `used_seconds`.
`Conversation.sla_due_at` mirrors the earliest due time of the running clocks, which is
what the inbox sorts and counts down by.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Min
from django.utils import timezone

from hubbub import live
from hubbub.db import fast_update
from hubbub.inbox.models import Conversation
from hubbub.workflow.hours import ALWAYS_OPEN, AlwaysOpen, Calendar
from hubbub.workflow.models import BusinessHours, Metric, SLAClock, SLAEvent, SLAPolicy

DEFAULT_FIRST_RESPONSE_MINUTES = 60  # the foundation's default when an organisation has no policy
TICK_SECONDS = 10  # cadence of the warning/breach sweep (see workflow/tasks.py)

CalendarLike = Calendar | AlwaysOpen


class CalendarCache:
    """Calendars by (business hours id, time zone), built once per batch."""

    def __init__(self) -> None:
        self._hours: dict[int, BusinessHours] = {}
        self._cals: dict[tuple[int, str], Calendar] = {}

    def get(self, hours_id: int | None, team_tz: str | None) -> CalendarLike:
        if hours_id is None:
            return ALWAYS_OPEN
        hours = self._hours.get(hours_id)
        if hours is None:
            hours = BusinessHours.objects.get(pk=hours_id)
            self._hours[hours_id] = hours
        tz = team_tz or hours.timezone
        key = (hours_id, tz)
        cal = self._cals.get(key)
        if cal is None:
            cal = Calendar.build(tz, hours.schedule, hours.holidays)
            self._cals[key] = cal
        return cal


def _times(cal: CalendarLike, since: datetime, target: int, used: int, warn_pct: int) -> tuple[datetime, datetime]:
    """(warn_at, due_at) for a clock running from `since` with `used` seconds consumed."""
    due = cal.add_seconds(since, max(0, target - used))
    warn_target = target * warn_pct / 100
    warn = cal.add_seconds(since, max(0.0, warn_target - used))
    far = since + timedelta(days=3650)
    return (warn or far), (due or far)


def new_clock(
    org_id: int,
    conv_id: int,
    metric: str,
    policy: SLAPolicy | None,
    target_minutes: int,
    started_at: datetime,
    cal: CalendarLike,
) -> SLAClock:
    target = target_minutes * 60
    warn, due = _times(cal, started_at, target, 0, policy.warn_at_pct if policy else 75)
    return SLAClock(
        organization_id=org_id,
        conversation_id=conv_id,
        policy=policy,
        metric=metric,
        state=SLAClock.State.RUNNING,
        target_seconds=target,
        started_at=started_at,
        running_since=started_at,
        due_at=due,
        warn_at=warn,
    )


def default_policies(policies: Iterable[SLAPolicy]) -> dict[int | None, SLAPolicy]:
    """The default policy of each brand that has one, and the organisation's (key None)."""
    return {p.brand_id: p for p in policies if p.is_default}


def default_for(defaults: dict[int | None, SLAPolicy], brand_id: int | None) -> SLAPolicy | None:
    """A brand's own default policy, else the organisation's: a brand may promise faster answers."""
    return defaults.get(brand_id) or defaults.get(None)


def clocks_for_new(
    org_id: int,
    convs: Sequence[Any],
    policies: dict[int, SLAPolicy],
    defaults: dict[int | None, SLAPolicy],
    cals: CalendarCache,
    team_tz: dict[int, str],
) -> list[dict[str, Any]]:
    """First-response and resolution clock rows (plain dicts, for one executemany) for new
    conversations; no queries besides building calendars once per batch."""
    rows = []
    for conv in convs:
        if conv.status != "open" or conv.is_spam:
            continue
        policy = policies.get(conv.sla_policy_id) if conv.sla_policy_id else default_for(defaults, conv.brand_id)
        tz = team_tz.get(conv.team_id) if conv.team_id else None
        cal = cals.get(policy.business_hours_id if policy else None, tz)
        if policy is None:
            if conv.first_response_at is None:
                rows.append(
                    _clock_row(
                        org_id,
                        conv.pk,
                        Metric.FIRST_RESPONSE,
                        None,
                        DEFAULT_FIRST_RESPONSE_MINUTES * 60,
                        75,
                        conv.first_message_at,
                        cal,
                    )
                )
            continue
        for metric in (Metric.FIRST_RESPONSE, Metric.RESOLUTION):
            minutes = policy.target_minutes(metric, conv.priority)
            if minutes is None:
                continue
            row = _clock_row(
                org_id, conv.pk, metric, policy.pk, minutes * 60, policy.warn_at_pct, conv.first_message_at, cal
            )
            if metric == Metric.FIRST_RESPONSE and conv.first_response_at is not None:
                _answered_already(row, conv.first_response_at)
            rows.append(row)
    return rows


def _answered_already(row: dict[str, Any], answered_at: datetime) -> None:
    """The answer came with the conversation (a history import, or one batch holding both): the clock is written
    stopped, met or breached by when the answer was posted, so the reports count it as they would a live one."""
    breached = row["due_at"] is not None and answered_at > row["due_at"]
    row.update(state="stopped", running_since=None, stopped_at=answered_at, outcome="breached" if breached else "met")


def _clock_row(
    org_id: int,
    conv_id: int,
    metric: str,
    policy_id: int | None,
    target: int,
    warn_pct: int,
    started_at: datetime,
    cal: CalendarLike,
) -> dict[str, Any]:
    warn, due = _times(cal, started_at, target, 0, warn_pct)
    return {
        "organization_id": org_id,
        "conversation_id": conv_id,
        "policy_id": policy_id,
        "metric": str(metric),
        "state": "running",
        "target_seconds": target,
        "used_seconds": 0,
        "started_at": started_at,
        "running_since": started_at,
        "due_at": due,
        "warn_at": warn,
        "stopped_at": None,  # every row has every key: they are inserted in one executemany
        "outcome": "",
    }


def _clock_calendar(clock: SLAClock, cals: CalendarCache) -> CalendarLike:
    policy = clock.policy
    team = clock.conversation.team if clock.conversation.team_id else None
    return cals.get(policy.business_hours_id if policy else None, team.timezone if team else None)


def _event(clock: SLAClock, kind: str, at: datetime, **data: Any) -> SLAEvent:
    return SLAEvent(
        organization_id=clock.organization_id,
        conversation_id=clock.conversation_id,
        clock=clock,
        metric=clock.metric,
        kind=kind,
        at=at,
        data=data,
    )


def _clocks(conv_ids: Iterable[int], states: Sequence[str], metrics: Sequence[str] | None = None) -> list[SLAClock]:
    qs = SLAClock.objects.select_related("policy", "conversation__team").filter(
        conversation_id__in=list(conv_ids), state__in=list(states)
    )
    if metrics:
        qs = qs.filter(metric__in=list(metrics))
    return list(qs)


def sync_due(conv_ids: Iterable[int]) -> None:
    """Mirror the earliest running due time onto each conversation (what the inbox sorts by)."""
    ids = list(conv_ids)
    if not ids:
        return
    due = dict(
        SLAClock.objects.filter(conversation_id__in=ids, state=SLAClock.State.RUNNING)
        .values("conversation_id")
        .annotate(d=Min("due_at"))
        .values_list("conversation_id", "d")
    )
    convs = [Conversation(pk=i, sla_due_at=due.get(i)) for i in ids]
    fast_update(convs, ["sla_due_at"])


def pause(conv_ids: Iterable[int], now: datetime | None = None) -> None:
    """Waiting on the customer: fold used business time and stop the countdown."""
    now = now or timezone.now()
    cals = CalendarCache()
    clocks = _clocks(conv_ids, [SLAClock.State.RUNNING])
    events = []
    for c in clocks:
        cal = _clock_calendar(c, cals)
        c.used_seconds = int(c.used_seconds + cal.seconds_between(c.running_since or now, now))
        c.state = SLAClock.State.PAUSED
        c.running_since = None
        c.due_at = None
        c.warn_at = None
        events.append(_event(c, "paused", now, used_seconds=c.used_seconds))
    fast_update(clocks, ["used_seconds", "state", "running_since", "due_at", "warn_at"])
    SLAEvent.objects.bulk_create(events)
    sync_due(conv_ids)


def resume(conv_ids: Iterable[int], now: datetime | None = None) -> None:
    now = now or timezone.now()
    cals = CalendarCache()
    clocks = _clocks(conv_ids, [SLAClock.State.PAUSED])
    events = []
    for c in clocks:
        cal = _clock_calendar(c, cals)
        warn, due = _times(cal, now, c.target_seconds, c.used_seconds, c.policy.warn_at_pct if c.policy else 75)
        c.state = SLAClock.State.RUNNING
        c.running_since = now
        c.due_at = due
        c.warn_at = warn
        events.append(_event(c, "resumed", now, due_at=due.isoformat()))
    fast_update(clocks, ["state", "running_since", "due_at", "warn_at"])
    SLAEvent.objects.bulk_create(events)
    sync_due(conv_ids)


def stop(
    conv_ids: Iterable[int],
    metrics: Sequence[str] | None,
    now: datetime | None = None,
    cancel: bool = False,
    at: Mapping[int, datetime] | None = None,
) -> None:
    """Stop clocks: met if stopped before due, breached otherwise (cancelled when the target no longer applies).

    `at` gives some conversations their own stop instant (a response learnt of later, e.g. when
    out-of-order messages are joined); the others stop at `now`.
    """
    now = now or timezone.now()
    conv_ids = list(conv_ids)
    clocks = _clocks(conv_ids, [SLAClock.State.RUNNING, SLAClock.State.PAUSED], metrics)
    events = []
    for c in clocks:
        when = at.get(c.conversation_id, now) if at else now
        if cancel:
            outcome = "cancelled"
        elif (c.breached_at is not None and when >= c.breached_at) or (c.due_at is not None and when > c.due_at):
            outcome = "breached"
        elif c.state == SLAClock.State.PAUSED and c.used_seconds > c.target_seconds:
            outcome = "breached"
        else:
            outcome = "met"
        c.state = SLAClock.State.STOPPED
        c.stopped_at = when
        c.outcome = outcome
        events.append(_event(c, outcome, when))
    fast_update(clocks, ["state", "stopped_at", "outcome"])
    SLAEvent.objects.bulk_create(events)
    sync_due(conv_ids)


def start_next_response(org_id: int, conv_ids: Sequence[int], now: datetime | None = None) -> list[int]:
    """The customer wrote again after our reply: start a next-response clock (once per wait).

    Only when the customer's message is the latest one (an imported brand reply does not count).
    """
    # By primary key only, organisation checked on the rows: with `organization_id = …` in the
    # WHERE clause SQLite walks every open conversation of the organisation instead.
    convs = [
        c
        for c in Conversation.objects.filter(
            id__in=list(conv_ids), first_response_at__isnull=False, status="open"
        ).select_related("sla_policy", "team")
        if c.organization_id == org_id
    ]
    if not convs:
        return []
    running = set(
        SLAClock.objects.filter(
            conversation_id__in=[c.pk for c in convs],
            metric=Metric.NEXT_RESPONSE,
            state__in=[SLAClock.State.RUNNING, SLAClock.State.PAUSED],
        ).values_list("conversation_id", flat=True)
    )
    defaults = default_policies(SLAPolicy.objects.filter(organization_id=org_id, is_default=True))
    cals = CalendarCache()
    clocks = []
    for conv in convs:
        if conv.pk in running or conv.last_inbound_at is None or conv.last_inbound_at < conv.last_message_at:
            continue
        policy = conv.sla_policy or default_for(defaults, conv.brand_id)
        if policy is None:
            continue
        minutes = policy.target_minutes(Metric.NEXT_RESPONSE, conv.priority)
        if minutes is None:
            continue
        cal = cals.get(policy.business_hours_id, conv.team.timezone if conv.team else None)
        clocks.append(new_clock(org_id, conv.pk, Metric.NEXT_RESPONSE, policy, minutes, conv.last_inbound_at, cal))
    SLAClock.objects.bulk_create(clocks)
    started = [c.conversation_id for c in clocks]
    sync_due(started)
    return started


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Raise warnings (at warn_at, e.g. 75 %) and breaches (at due_at) that have come due.

    Runs every TICK_SECONDS from the task engine; each clock warns and breaches once.
    """
    now = now or timezone.now()
    counts = {"warnings": 0, "breaches": 0}
    per_org: dict[int, dict[str, list[int]]] = defaultdict(lambda: {"warning": [], "breach": []})
    for kind, field, stamp in (("warning", "warn_at", "warned_at"), ("breach", "due_at", "breached_at")):
        clocks = list(
            SLAClock.objects.filter(
                state=SLAClock.State.RUNNING, **{f"{field}__lte": now, f"{stamp}__isnull": True}
            ).only("id", "organization_id", "conversation_id", "metric", field)[:5000]
        )
        if not clocks:
            continue
        events = []
        for c in clocks:
            setattr(c, stamp, now)
            due = getattr(c, field)
            events.append(_event(c, kind, now, due=due.isoformat(), delay_s=round((now - due).total_seconds(), 3)))
            per_org[c.organization_id][kind].append(c.conversation_id)
        fast_update(clocks, [stamp])
        SLAEvent.objects.bulk_create(events)
        counts["warnings" if kind == "warning" else "breaches"] += len(clocks)
    for org_id, kinds in per_org.items():
        for kind, conv_ids in kinds.items():
            if conv_ids:
                live.publish("sla", org_id, event=kind, conversation_ids=conv_ids[:200], count=len(conv_ids))
    return counts


def history(conv: Conversation) -> list[dict[str, Any]]:
    """The conversation's SLA story, oldest first: clock starts plus every recorded event."""
    rows: list[dict[str, Any]] = []
    for c in conv.sla_clocks.select_related("policy").order_by("started_at", "id"):
        rows.append(
            {
                "at": c.started_at,
                "metric": c.get_metric_display(),
                "kind": "started",
                "detail": f"target {c.target_seconds // 60} min" + (f" ({c.policy.name})" if c.policy else ""),
            }
        )
    for e in conv.sla_events.all():
        rows.append({"at": e.at, "metric": e.get_metric_display(), "kind": e.kind, "detail": ""})
    rows.sort(key=lambda r: r["at"])
    return rows
