"""Listening actions.

* `record_mentions` runs inside every ingest batch: it adds the batch to the
  per-brand rollups, matches every inbound mention against the organisation's
  listening queries (compiled once, cached per organisation) and adds the
  matches to the per-query rollups, with the same additive UPSERT, so a batch
  costs a handful of statements whatever its size.
* Query, alert-rule and incident changes are each one plainly named function
  that writes, audits and publishes a live event (the UI, API and tasks call them).
* `active_incident(brand_id)` is the hook the workflow calls so that, during an
  incident, every reply on that brand needs approval.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from hubbub import live
from hubbub.analysis.types import Analysis
from hubbub.connectors.events import InboundEvent
from hubbub.db import upsert_add
from hubbub.inbox.models import Conversation, Direction, Message
from hubbub.inputs import InvalidInput, checked
from hubbub.listening.inputs import AlertRuleIn, IncidentNoteIn, StatementIn
from hubbub.listening.models import (
    Alert,
    AlertRule,
    DimensionRollup,
    Grain,
    Incident,
    IncidentConversation,
    IncidentEvent,
    ListeningQuery,
    MentionRollup,
    QueryRollup,
)
from hubbub.listening.places import place_of
from hubbub.listening.query_language import Query, QuerySyntaxError, parse
from hubbub.outbound_http import OutboundRefused, validate_user_url
from hubbub.tenancy.models import Brand, Role
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role
from hubbub.tenancy.services import audit
from hubbub.workflow import issues as workflow_issues

GRAINS = {
    Grain.MINUTE: lambda t: t.replace(second=0, microsecond=0),
    Grain.HOUR: lambda t: t.replace(minute=0, second=0, microsecond=0),
    Grain.DAY: lambda t: t.replace(hour=0, minute=0, second=0, microsecond=0),
}
_SENT = {"negative": 1, "neutral": 2, "positive": 3}

# ----------------------------------------------------------------- ingest path


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    id: int
    brand_id: int
    query: Query


_cache_lock = threading.Lock()
_query_cache: dict[int, tuple[tuple[tuple[int, int, str], ...], list[CompiledQuery]]] = {}


def compiled_queries(org_id: int) -> list[CompiledQuery]:
    """The organisation's active queries, compiled; recompiled only when one changed.

    One small SELECT per call (per ingest batch) tells whether the cached
    compilation is still current, so edits in the web process reach the worker
    process on its next batch without any signalling.
    """
    rows = tuple(
        ListeningQuery.objects.filter(organization_id=org_id, is_active=True)
        .order_by("id")
        .values_list("id", "brand_id", "query")
    )
    with _cache_lock:
        hit = _query_cache.get(org_id)
        if hit is not None and hit[0] == rows:
            return hit[1]
    compiled = []
    for qid, brand_id, text in rows:
        try:
            compiled.append(CompiledQuery(qid, brand_id, parse(text)))
        except QuerySyntaxError:  # saved before a grammar change: skip rather than break ingest
            continue
    with _cache_lock:
        _query_cache[org_id] = (rows, compiled)
    return compiled


def record_mentions(org_id: int, items: Sequence[tuple[InboundEvent, int, Analysis | None]]) -> None:
    """Add a batch of inbound mentions to the brand, query and dimension rollups.

    One SELECT (the query list) and at most three executemany writes per batch;
    the brand's own outbound replies are not mentions and are skipped.
    """
    counts: dict[tuple[int, str, datetime], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    qcounts: dict[tuple[int, int, str, datetime], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    dcounts: dict[tuple[int, str, datetime, str, str], int] = defaultdict(int)
    inbound = [(ev, b, a) for ev, b, a in items if ev.direction == "in"]
    if not inbound:
        return
    queries = compiled_queries(org_id)
    minute_g, hour_g, day_g = Grain.MINUTE, Grain.HOUR, Grain.DAY
    for ev, brand_id, analysis in inbound:
        s = _SENT.get(analysis.sentiment if analysis else "neutral", 2)
        eng = ev.retweets + ev.likes
        m = ev.created_at.replace(second=0, microsecond=0)
        h = m.replace(minute=0)
        d = h.replace(hour=0)
        buckets = ((minute_g, m), (hour_g, h), (day_g, d))
        for grain, bucket in buckets:
            c = counts[(brand_id, grain, bucket)]
            c[0] += 1
            c[s] += 1
            c[4] += eng
        if queries:
            low = ev.text.lower() if ev.text else ""
            lang = ev.lang.lower() if ev.lang else ""
            net = ev.network.lower() if ev.network else ""
            for cq in queries:
                if cq.query._pred(low, lang, net):
                    for grain, bucket in buckets:
                        c = qcounts[(cq.id, cq.brand_id, grain, bucket)]
                        c[0] += 1
                        c[s] += 1
                        c[4] += eng
        if ev.lang:  # the language breakdown, when the network tells us the language
            lg = ev.lang.lower()[:20]
            dcounts[(brand_id, hour_g, h, "lang", lg)] += 1
            dcounts[(brand_id, day_g, d, "lang", lg)] += 1
        if ev.author_location:  # the map: where the author says they are, when we can tell
            place = place_of(ev.author_location)
            if place:
                dcounts[(brand_id, hour_g, h, "place", place)] += 1
                dcounts[(brand_id, day_g, d, "place", place)] += 1
    adapt = connection.ops.adapt_datetimefield_value
    _upsert(
        MentionRollup._meta.db_table,
        ["organization_id", "brand_id", "grain", "bucket"],
        ["total", "negative", "neutral", "positive", "engagement"],
        ["brand_id", "grain", "bucket"],
        sorted((org_id, b, g, adapt(t), *v) for (b, g, t), v in counts.items()),
    )
    if qcounts:
        _upsert(
            QueryRollup._meta.db_table,
            ["organization_id", "query_id", "brand_id", "grain", "bucket"],
            ["total", "negative", "neutral", "positive", "engagement"],
            ["query_id", "grain", "bucket"],
            sorted((org_id, q, b, g, adapt(t), *v) for (q, b, g, t), v in qcounts.items()),
        )
    if dcounts:
        _upsert(
            DimensionRollup._meta.db_table,
            ["organization_id", "brand_id", "grain", "bucket", "dimension", "value"],
            ["total"],
            ["brand_id", "grain", "bucket", "dimension", "value"],
            sorted((org_id, b, g, adapt(t), d, val, n) for (b, g, t, d, val), n in dcounts.items()),
        )


def _upsert(table: str, keys: list[str], values: list[str], conflict: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Add a batch's counts to the rollup rows (rows sorted by key: concurrent workers lock in one order)."""
    upsert_add(table, keys, values, conflict, rows)


# ---------------------------------------------------------------- queries


def _actor(scope: Scope) -> Any:
    """The acting user, typed loosely: `Scope.user` is an AbstractBaseUser, our FKs point at the auth model."""
    return scope.user


class QueryNameTaken(ValueError):
    """Another query of the brand has this name: names tell a brand's queries apart in charts and alerts."""


def validate_query(text: str) -> Query:
    """Parse a query; raises `QuerySyntaxError` with the character position of the problem."""
    return parse(text)


def _brand_in_scope(scope: Scope, brand_id: int) -> Brand:
    if brand_id not in scope.brand_ids:
        raise PermissionDenied("That brand is not in your organisation.")
    return Brand.objects.get(pk=brand_id)


def save_query(
    scope: Scope,
    *,
    brand_id: int,
    name: str,
    query: str,
    is_active: bool = True,
    instance: ListeningQuery | None = None,
) -> ListeningQuery:
    """Create or change a listening query (analysts may); it is matched from the next ingest batch on."""
    require_role(scope, Role.ANALYST)
    _brand_in_scope(scope, brand_id)
    parsed = validate_query(query)
    name = name.strip()[:120] or parsed.normalised()[:120]
    with transaction.atomic():
        q = instance or ListeningQuery(organization_id=scope.organization_id, created_by=_actor(scope))
        old = {"query": q.query, "brand_id": q.brand_id, "name": q.name} if instance else None
        q.brand_id = brand_id
        q.name = name
        q.query = query.strip()
        q.is_active = is_active
        try:
            with transaction.atomic():  # a savepoint: the unique name is the database's to enforce
                q.save()
        except IntegrityError:
            raise QueryNameTaken(
                f"This brand already has a query named “{name}”. Choose another name, or edit that query."
            ) from None
        audit(
            scope.organization_id,
            scope.user,
            "listening.query.save",
            q,
            query=q.query,
            name=q.name,
            brand_id=brand_id,
            old=old,
        )
    live.publish("listening_query", scope.organization_id, query_id=q.pk)
    return q


def delete_query(scope: Scope, q: ListeningQuery) -> None:
    require_role(scope, Role.ANALYST)
    with transaction.atomic():
        audit(scope.organization_id, scope.user, "listening.query.delete", q, query=q.query, name=q.name)
        q.delete()
    live.publish("listening_query", scope.organization_id, deleted=True)


def preview_query(scope: Scope, text: str, brand_id: int | None = None, scan: int = 5000, limit: int = 20) -> dict:
    """Matches of a query on the most recent stored mentions (a bounded scan, so the editor stays fast)."""
    q = validate_query(text)
    brand_ids = [brand_id] if brand_id in scope.brand_ids else list(scope.brand_ids)
    rows = (
        Message.objects.filter(organization_id=scope.organization_id, brand_id__in=brand_ids, direction=Direction.IN)
        .order_by("-created_at", "-id")
        .values("id", "conversation_id", "text", "lang", "network", "created_at", "sentiment", "brand__name")[:scan]
    )
    matches: list[Any] = []
    scanned = 0
    n = 0
    sentiments: dict[str, int] = defaultdict(int)
    for r in rows:
        scanned += 1
        if q.matches(r["text"], r["lang"], r["network"]):
            n += 1
            sentiments[r["sentiment"] or "neutral"] += 1
            if len(matches) < limit:
                matches.append(r)
    return {
        "query": q,
        "normalised": q.normalised(),
        "terms": q.terms(),
        "scanned": scanned,
        "matched": n,
        "sentiments": dict(sentiments),
        "matches": matches,
    }


# ------------------------------------------------------------------ alert rules


def rule_for(org_id: int, brand_id: int) -> AlertRule | None:
    """The brand's active rule, else the organisation-wide one, else None (defaults apply)."""
    rules = list(
        AlertRule.objects.filter(organization_id=org_id, is_active=True).filter(
            Q(brand_id=brand_id) | Q(brand__isnull=True)
        )
    )
    rules.sort(key=lambda r: (r.brand_id is None, r.pk))
    return rules[0] if rules else None


def save_alert_rule(scope: Scope, rule: AlertRule | None, data: AlertRuleIn) -> AlertRule:
    """Create or change an alert rule (supervisors): sensitivity, quiet hours, minimum volume, where to notify.
    `data` holds the rule's own checks (`listening.inputs`); here, the brand and the webhook address."""
    require_role(scope, Role.SUPERVISOR)
    fields = data.model_dump()
    if data.brand_id is not None:
        _brand_in_scope(scope, data.brand_id)
    with transaction.atomic():
        r = rule or AlertRule(organization_id=scope.organization_id)
        for k, v in fields.items():
            setattr(r, k, v)
        if r.webhook_url:
            try:
                r.webhook_url = validate_user_url(r.webhook_url)
            except OutboundRefused as exc:
                raise InvalidInput.of("webhook_url", f"Webhook: {exc}.") from exc
        r.full_clean(exclude=["organization", "brand"])
        r.save()
        audit(scope.organization_id, scope.user, "listening.rule.save", r, **{k: str(v) for k, v in fields.items()})
    return r


def acknowledge_alert(scope: Scope, alert: Alert) -> Alert:
    require_role(scope, Role.ANALYST)
    with transaction.atomic():
        alert.acknowledged_by = _actor(scope)
        alert.acknowledged_at = timezone.now()
        alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
        audit(scope.organization_id, scope.user, "listening.alert.acknowledge", alert)
    live.publish("alert", scope.organization_id, alert_id=alert.pk, acknowledged=True)
    return alert


# -------------------------------------------------------------------- incidents


def active_incident(brand_id: int) -> Incident | None:
    """The brand's open incident, if any. While one is open, every reply on the brand needs approval."""
    return Incident.objects.filter(brand_id=brand_id, status=Incident.Status.OPEN).order_by("-opened_at").first()


def _timeline(incident: Incident, actor: Any, verb: str, text: str = "", **data: Any) -> IncidentEvent:
    ev = IncidentEvent.objects.create(
        incident=incident,
        actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
        verb=verb,
        text=text,
        data=data,
        created_at=timezone.now(),
    )
    return ev


def _incident_changed(incident: Incident, verb: str) -> None:
    live.publish("incident", incident.organization_id, incident_id=incident.pk, brand_id=incident.brand_id, verb=verb)


def open_incident(scope: Scope, brand_id: int, title: str, alert: Alert | None = None) -> Incident:
    """Open war room mode for a brand (supervisors). One open incident per brand: a second call returns it."""
    require_role(scope, Role.SUPERVISOR)
    _brand_in_scope(scope, brand_id)
    if alert is not None and (alert.organization_id != scope.organization_id or alert.brand_id != brand_id):
        raise PermissionDenied("That alert belongs to another brand.")
    with transaction.atomic():
        existing = active_incident(brand_id)
        if existing is not None:
            if alert is not None and existing.alert_id is None:
                existing.alert = alert
                existing.save(update_fields=["alert"])
            return existing
        title = title.strip()[:200] or (alert.message[:200] if alert else "Incident")
        incident = Incident.objects.create(
            organization_id=scope.organization_id,
            brand_id=brand_id,
            alert=alert,
            title=title,
            opened_by=_actor(scope),
            opened_at=timezone.now(),
        )
        _timeline(
            incident,
            scope.user,
            "opened",
            ("Incident opened from alert: " + alert.message if alert else "Incident opened.")
            + " Replies on this brand now need approval.",
            alert_id=alert.pk if alert else None,
        )
        audit(scope.organization_id, scope.user, "listening.incident.open", incident, brand_id=brand_id)
    _incident_changed(incident, "opened")
    return incident


def _require_open(incident: Incident) -> None:
    if incident.status != Incident.Status.OPEN:
        raise ValueError("This incident is closed.")


def draft_statement(scope: Scope, incident: Incident, text: str) -> Incident:
    """Draft (or redraft) the holding statement; a redraft needs approval again."""
    require_role(scope, Role.AGENT)
    _require_open(incident)
    text = checked(StatementIn, text=text).text
    if incident.statement_state == Incident.StatementState.SENT:
        raise ValueError("The holding statement was already sent.")
    with transaction.atomic():
        incident.holding_statement = text
        incident.statement_state = Incident.StatementState.DRAFT
        incident.statement_approved_by = None
        incident.save(update_fields=["holding_statement", "statement_state", "statement_approved_by"])
        _timeline(incident, scope.user, "statement.drafted", text)
        audit(scope.organization_id, scope.user, "listening.incident.statement_draft", incident)
    _incident_changed(incident, "statement.drafted")
    return incident


def approve_statement(scope: Scope, incident: Incident) -> Incident:
    require_role(scope, Role.SUPERVISOR)
    _require_open(incident)
    if incident.statement_state != Incident.StatementState.DRAFT:
        raise ValueError("Only a drafted statement can be approved.")
    with transaction.atomic():
        incident.statement_state = Incident.StatementState.APPROVED
        incident.statement_approved_by = _actor(scope)
        incident.save(update_fields=["statement_state", "statement_approved_by"])
        _timeline(incident, scope.user, "statement.approved")
        audit(scope.organization_id, scope.user, "listening.incident.statement_approve", incident)
    _incident_changed(incident, "statement.approved")
    return incident


def send_statement(scope: Scope, incident: Incident) -> Incident:
    """Mark the approved statement as published (posting it is the channel owner's job)."""
    require_role(scope, Role.SUPERVISOR)
    _require_open(incident)
    if incident.statement_state != Incident.StatementState.APPROVED:
        raise ValueError("The holding statement must be approved before it is sent.")
    with transaction.atomic():
        incident.statement_state = Incident.StatementState.SENT
        incident.statement_sent_at = timezone.now()
        incident.save(update_fields=["statement_state", "statement_sent_at"])
        _timeline(incident, scope.user, "statement.sent", incident.holding_statement)
        audit(scope.organization_id, scope.user, "listening.incident.statement_send", incident)
    _incident_changed(incident, "statement.sent")
    return incident


def link_conversations(scope: Scope, incident: Incident, conversation_ids: Sequence[int]) -> int:
    """Link affected conversations (of the incident's brand, in scope); returns how many were new."""
    require_role(scope, Role.AGENT)
    _require_open(incident)
    ids = list(
        Conversation.objects.filter(
            organization_id=scope.organization_id, brand_id=incident.brand_id, id__in=list(conversation_ids)
        ).values_list("id", flat=True)
    )
    if incident.brand_id not in scope.brand_ids:
        raise PermissionDenied("That brand is not in your scope.")
    with transaction.atomic():
        have = set(IncidentConversation.objects.filter(incident=incident).values_list("conversation_id", flat=True))
        new = [i for i in ids if i not in have]
        IncidentConversation.objects.bulk_create(
            [IncidentConversation(incident=incident, conversation_id=i, added_by=_actor(scope)) for i in new]
        )
        if new:
            _timeline(incident, scope.user, "conversations.linked", f"{len(new)} conversation(s) linked", ids=new)
            audit(scope.organization_id, scope.user, "listening.incident.link", incident, conversation_ids=new)
    if new:
        _incident_changed(incident, "conversations.linked")
    return len(new)


def track_as_issue(scope: Scope, incident: Incident) -> int:
    """Hand the incident's linked conversations to the workflow's progress updates.

    Creates a workflow issue (`hubbub.workflow.issues`) for the incident's brand
    with every linked conversation, so one approved update reaches them all;
    returns the issue id. The workflow owns the updates from there on.
    """
    require_role(scope, Role.AGENT)
    _require_open(incident)
    conv_ids = list(incident.links.values_list("conversation_id", flat=True))
    with transaction.atomic():
        issue = workflow_issues.create_issue(scope, incident.brand_id, incident.title, conv_ids)
        _timeline(
            incident,
            scope.user,
            "issue.created",
            f"Progress updates: workflow issue #{issue.pk} with {len(conv_ids)} conversation(s)",
            issue_id=issue.pk,
        )
        audit(scope.organization_id, scope.user, "listening.incident.track_issue", incident, issue_id=issue.pk)
    _incident_changed(incident, "issue.created")
    return int(issue.pk)


def add_incident_note(scope: Scope, incident: Incident, text: str) -> IncidentEvent:
    require_role(scope, Role.AGENT)
    text = checked(IncidentNoteIn, text=text).text
    with transaction.atomic():
        ev = _timeline(incident, scope.user, "note", text)
        audit(scope.organization_id, scope.user, "listening.incident.note", incident)
    _incident_changed(incident, "note")
    return ev


def incident_report(incident: Incident, until: datetime | None = None) -> dict[str, Any]:
    """Duration, volume, sentiment recovery and response times of an incident (from rollups and conversations).

    Sentiment recovery compares the negative share in the hour before the
    incident opened, during it, and in its last hour.
    """
    end = until or incident.closed_at or timezone.now()
    start = incident.opened_at
    if incident.alert_id and incident.alert is not None:
        start = min(start, incident.alert.window_start)

    def mix(a: datetime, b: datetime) -> dict[str, Any]:
        agg = MentionRollup.objects.filter(
            brand_id=incident.brand_id, grain=Grain.MINUTE, bucket__gte=a, bucket__lt=b
        ).aggregate(total=Sum("total"), negative=Sum("negative"))
        total = agg["total"] or 0
        neg = agg["negative"] or 0
        return {"total": total, "negative": neg, "negative_share": round(neg / total, 3) if total else None}

    before = mix(start - timedelta(hours=1), start)
    during = mix(start, end)
    last_hour = mix(max(start, end - timedelta(hours=1)), end)
    convs = Conversation.objects.filter(id__in=incident.links.values("conversation_id"))
    n_convs = convs.count()
    responded = convs.filter(first_response_at__isnull=False)
    resp_minutes = [
        (c.first_response_at - c.first_message_at).total_seconds() / 60.0
        for c in responded.only("first_response_at", "first_message_at")
        if c.first_response_at is not None
    ]
    resp_minutes.sort()

    def pct(p: float) -> float | None:
        if not resp_minutes:
            return None
        return round(resp_minutes[min(len(resp_minutes) - 1, int(p * len(resp_minutes)))], 1)

    statement_delay = None
    if incident.statement_sent_at:
        statement_delay = round((incident.statement_sent_at - incident.opened_at).total_seconds() / 60.0, 1)
    recovered = None
    if during["negative_share"] is not None and last_hour["negative_share"] is not None:
        recovered = last_hour["negative_share"] <= max(before["negative_share"] or 0.0, 0.0) + 0.05
    return {
        "opened_at": incident.opened_at.isoformat(),
        "closed_at": end.isoformat(),
        "duration_minutes": round((end - incident.opened_at).total_seconds() / 60.0, 1),
        "volume": during["total"],
        "negative": during["negative"],
        "negative_share_before": before["negative_share"],
        "negative_share_during": during["negative_share"],
        "negative_share_last_hour": last_hour["negative_share"],
        "sentiment_recovered": recovered,
        "conversations": n_convs,
        "conversations_responded": len(resp_minutes),
        "first_response_p50_min": pct(0.5),
        "first_response_p90_min": pct(0.9),
        "statement_sent_after_min": statement_delay,
        "timeline_entries": incident.timeline.count(),
    }


def close_incident(scope: Scope, incident: Incident, summary: str = "") -> Incident:
    """Close the incident (supervisors); replies stop needing approval for it; the report is frozen."""
    require_role(scope, Role.SUPERVISOR)
    _require_open(incident)
    with transaction.atomic():
        now = timezone.now()
        incident.status = Incident.Status.CLOSED
        incident.closed_by = _actor(scope)
        incident.closed_at = now
        _timeline(incident, scope.user, "closed", summary.strip())
        incident.report = incident_report(incident, until=now)
        if summary.strip():
            incident.report["summary"] = summary.strip()
        incident.save(update_fields=["status", "closed_by", "closed_at", "report"])
        audit(scope.organization_id, scope.user, "listening.incident.close", incident, report=incident.report)
    _incident_changed(incident, "closed")
    return incident


def open_incident_count(brand_id: int) -> int:
    return Incident.objects.filter(brand_id=brand_id, status=Incident.Status.OPEN).count()
