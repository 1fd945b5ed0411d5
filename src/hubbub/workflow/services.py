"""Workflow actions and the hooks the pipeline and the inbox call: routing, assignment,
SLA clocks, reply approval, canned responses, collision warnings.

Every state change is one plainly named function doing the write, the audit entry and
the live event together; views, API and CLI only parse, check the scope and call these.
The ingest hooks (`route_new_conversations`, `on_customer_messages`) work on whole
batches with a fixed number of queries, so 50 active rules barely slow ingestion.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from hubbub import live
from hubbub.crm.models import Customer
from hubbub.db import fast_insert_dicts, fast_update
from hubbub.inbox.models import CannedResponse, Conversation, Note, Priority, Reply, Status, Tag
from hubbub.tenancy.models import AuditEvent, Membership, Role, Team
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role
from hubbub.tenancy.services import audit
from hubbub.workflow import sla
from hubbub.workflow.models import (
    ApprovalPolicy,
    AssignmentPolicy,
    BusinessHours,
    ComposerPresence,
    Metric,
    RoutingRule,
    SLAClock,
    SLAPolicy,
)
from hubbub.workflow.rules import Facts, clean_actions, clean_conditions, compile_rules, describe

log = logging.getLogger("hubbub.workflow")
User = get_user_model()

DEFAULT_FIRST_RESPONSE = timedelta(minutes=sla.DEFAULT_FIRST_RESPONSE_MINUTES)
COMPOSING_TTL = timedelta(seconds=45)
PRIORITY_NAMES = {p.value: p.label.lower() for p in Priority}


_URGENT, _HIGH, _NORMAL = int(Priority.URGENT), int(Priority.HIGH), int(Priority.NORMAL)  # enum lookups cost µs


def _priority_from_urgency(urgency: int) -> int:
    return _URGENT if urgency >= 80 else _HIGH if urgency >= 60 else _NORMAL


def _changed(conv_or_org: Conversation | int, **data: Any) -> None:
    if isinstance(conv_or_org, Conversation):
        live.publish("conversation", conv_or_org.organization_id, conversation_id=conv_or_org.pk, **data)
    else:
        live.publish("conversation", conv_or_org, **data)


# --------------------------------------------------------------------------- routing


def active_rules(org_id: int) -> list[RoutingRule]:
    return list(RoutingRule.objects.filter(organization_id=org_id, is_active=True).order_by("position", "id"))


_CONV_FACT_FIELDS = (
    "id",
    "brand_id",
    "network",
    "intent",
    "topic",
    "sentiment",
    "urgency",
    "search_text",
    "author__customer__tier",
    "author__customer__lifetime_value",
    "author__followers",
    "first_message_at",
    "team_id",
)


def _fact(values: Sequence[Any], lang: str) -> Facts:
    """Rule facts from the values of `_CONV_FACT_FIELDS[1:]` (stored or in memory) and a language."""
    brand, net, intent, topic, sent, urg, text, tier, value, followers, at, team = values
    return Facts(
        brand, net, intent, topic, sent, urg, lang, text, tier or "unknown", float(value or 0), followers or 0, at, team
    )


def _facts_rows(conversations: Any, needs_lang: bool) -> list[tuple[int, Facts]]:
    """Flatten conversations into rule facts with one joined query (plus one for languages)."""
    rows = list(conversations.values_list(*_CONV_FACT_FIELDS))
    langs = _languages([r[0] for r in rows]) if needs_lang and rows else {}
    return [(r[0], _fact(r[1:], langs.get(r[0], ""))) for r in rows]


def _hours_checker(org_id: int, cals: sla.CalendarCache, team_tz: dict[int, str], f: Facts) -> Any:
    def hours(bh_id: int) -> bool:
        return cals.get(bh_id, team_tz.get(f.team_id) if f.team_id else None).is_open(f.at)

    return hours


class _Row:
    """A conversation as the routing hook needs it: no `Model.__init__` on the hot path.

    `_meta` lets `fast_update` write these rows exactly as it writes Conversation objects.
    """

    __slots__ = (
        "pk",
        "organization_id",
        "brand_id",
        "status",
        "urgency",
        "first_message_at",
        "first_response_at",
        "priority",
        "team_id",
        "sla_policy_id",
        "requires_approval",
        "is_spam",
        "resolved_at",
        "routing_log",
        "sla_due_at",
        "assignee_id",
    )
    _meta = Conversation._meta
    pk: int
    organization_id: int
    brand_id: int
    status: str
    urgency: int
    first_message_at: datetime
    first_response_at: datetime | None
    priority: int
    team_id: int | None
    sla_policy_id: int | None
    requires_approval: bool
    is_spam: bool
    resolved_at: datetime | None
    routing_log: list[dict[str, Any]]
    sla_due_at: datetime | None
    assignee_id: int | None


_ROW_FIELDS = (
    "id",
    "status",
    "urgency",
    "first_message_at",
    "first_response_at",
    "team_id",
    "sla_policy_id",
    "requires_approval",
    "is_spam",
    "resolved_at",
    "routing_log",
    "assignee_id",
    "brand_id",
)


def route_new_conversations(org_id: int, conversation_ids: Sequence[int]) -> None:
    """Route stored conversations (re-routing, tests): rules → team/priority/tags/SLA/approval/spam,
    then automatic assignment, SLA clocks and canned auto-replies.

    The ingest pipeline routes new conversations before they are written (`route_planned`);
    both go through `_route`. One batch, a fixed number of queries.
    """
    ids = list(conversation_ids)
    if not ids:
        return
    ctx = _RoutingContext.load(org_id)
    needs_facts = bool(ctx.rules)
    fields = _ROW_FIELDS + (_CONV_FACT_FIELDS[1:] if needs_facts else ())
    # By primary key only, organisation checked on the rows: with `organization_id = …` in the
    # WHERE clause SQLite walks the organisation's whole SLA index instead.
    rows = [
        r for r in Conversation.objects.filter(id__in=ids).values_list(*fields, "organization_id") if r[-1] == org_id
    ]
    convs: dict[int, _Row] = {}
    facts: list[tuple[int, Facts]] = []
    langs = _languages([r[0] for r in rows]) if needs_facts and ctx.compiled.needs_lang else {}
    for r in rows:
        c = _Row()
        (c.pk, c.status, c.urgency, c.first_message_at, c.first_response_at, c.team_id, c.sla_policy_id) = r[:7]
        (c.requires_approval, c.is_spam, c.resolved_at, c.routing_log, c.assignee_id, c.brand_id) = r[7:13]
        c.organization_id, c.priority, c.sla_due_at = org_id, Priority.NORMAL, None
        convs[c.pk] = c
        if needs_facts:
            facts.append((c.pk, _fact(r[13:-1], langs.get(c.pk, ""))))
    follow_up = _route(org_id, ctx, convs, facts)
    fast_update(list(convs.values()), _ROUTED_FIELDS)  # type: ignore[arg-type]
    follow_up()


def route_planned(org_id: int, convs: Sequence[Any], authors: dict[int, Any]) -> Callable[[], None]:
    """Route the conversations an ingest batch is about to create, in memory, before they are
    written: each is inserted once, complete, instead of inserted and then updated.

    `convs` are threading's NewConversation objects (with `lang`, the language of their first
    inbound message); `authors` maps author ids to the batch's resolved profiles (followers,
    linked customer). SLA clocks are written now; returns what must wait until the
    conversations exist (tags, auto-replies).
    """
    todo = {c.pk: c for c in convs}
    if not todo:
        return _nothing
    ctx = _RoutingContext.load(org_id)
    facts: list[tuple[int, Facts]] = []
    if ctx.rules:
        cids = {a.customer_id for a in (authors.get(c.author_id) for c in convs) if a and a.customer_id}
        crm = {
            pk: (tier, value)
            for pk, org, tier, value in Customer.objects.filter(id__in=list(cids)).values_list(
                "id", "organization_id", "tier", "lifetime_value"
            )
            if org == org_id
        }
        for c in convs:
            author = authors.get(c.author_id)
            known = crm.get(author.customer_id) if author else None
            tier, value = known or ("unknown", 0)
            followers = author.followers if author else 0
            values = (c.brand_id, c.network, c.intent, c.topic, c.sentiment, c.urgency, c.search_text)
            facts.append((c.pk, _fact((*values, tier, value, followers, c.first_message_at, c.team_id), c.lang)))
    return _route(org_id, ctx, todo, facts)


def _nothing() -> None:
    return None


_ROUTED_FIELDS = (
    "priority",
    "team_id",
    "sla_policy_id",
    "requires_approval",
    "is_spam",
    "status",
    "resolved_at",
    "routing_log",
    "sla_due_at",
    "assignee_id",
)


@dataclass
class _RoutingContext:
    """What routing reads once per batch: active rules, teams, SLA policies."""

    rules: list[RoutingRule]
    compiled: Any
    team_names: dict[int, str]
    team_tz: dict[int, str]
    policies: dict[int, SLAPolicy]

    @classmethod
    def load(cls, org_id: int) -> _RoutingContext:
        rules = active_rules(org_id)
        team_rows = list(Team.objects.filter(organization_id=org_id).values_list("id", "name", "timezone"))
        return cls(
            rules=rules,
            compiled=compile_rules(rules),
            team_names={t: n for t, n, _ in team_rows},
            team_tz={t: z for t, _, z in team_rows},
            policies={p.pk: p for p in SLAPolicy.objects.filter(organization_id=org_id)},
        )


def _route(
    org_id: int, ctx: _RoutingContext, convs: dict[int, Any], facts: list[tuple[int, Facts]]
) -> Callable[[], None]:
    """Apply matching rules to conversation rows in memory, assign, write SLA clocks; returns the
    follow-up (tags, auto-replies) to run once the conversations are stored."""
    now = timezone.now()
    rules, compiled, team_names, team_tz, policies = ctx.rules, ctx.compiled, ctx.team_names, ctx.team_tz, ctx.policies
    names = {"team": team_names, "sla": {k: p.name for k, p in policies.items()}}
    cals = sla.CalendarCache()
    matched_by_conv: dict[int, list[int]] = {}
    for cid, f in facts:
        hours = _hours_checker(org_id, cals, team_tz, f) if compiled.needs_hours else None
        matched = compiled.match(f, hours)
        if matched:
            matched_by_conv[cid] = matched
    tags_to_add: dict[int, set[str]] = defaultdict(set)
    auto_replies: dict[int, int] = {}
    stamp = now.isoformat()
    for cid, conv in convs.items():
        if conv.status != Status.OPEN:
            continue
        priority: int | None = None
        log_entries = []
        for idx in matched_by_conv.get(cid, ()):
            rule = rules[idx]
            a = rule.actions or {}
            if a.get("team_id") in team_names:
                conv.team_id = a["team_id"]
            if a.get("priority") is not None:
                priority = int(a["priority"])
            if a.get("sla_policy_id") in policies:
                conv.sla_policy_id = a["sla_policy_id"]
            if a.get("require_approval"):
                conv.requires_approval = True
            if a.get("tags"):
                tags_to_add[cid].update(a["tags"])
            if a.get("auto_reply_canned_id"):
                auto_replies[cid] = int(a["auto_reply_canned_id"])
            if a.get("mark_spam"):
                conv.is_spam = True
            log_entries.append({"at": stamp, "rule_id": rule.pk, "rule": rule.name, "text": describe(rule, names)})
        if priority is None:
            priority = _priority_from_urgency(conv.urgency)
            why = f"priority {PRIORITY_NAMES[priority]} from urgency {conv.urgency}"
            log_entries.append({"at": stamp, "rule_id": None, "text": why})
        conv.priority = priority
        if conv.is_spam:
            conv.status = Status.RESOLVED
            conv.resolved_at = now
        conv.routing_log = list(conv.routing_log or []) + log_entries
    open_convs = [c for c in convs.values() if c.status == Status.OPEN]
    _auto_assign(org_id, [c for c in open_convs if c.team_id and c.assignee_id is None], actor=None)
    clock_rows = sla.clocks_for_new(
        org_id, list(convs.values()), policies, sla.default_policies(policies.values()), cals, team_tz
    )
    fast_insert_dicts(SLAClock, clock_rows)
    for row in clock_rows:
        conv = convs[row["conversation_id"]]
        if row["due_at"] and (conv.sla_due_at is None or row["due_at"] < conv.sla_due_at):
            conv.sla_due_at = row["due_at"]

    def follow_up() -> None:
        if tags_to_add:
            _add_tags(org_id, tags_to_add)
        for cid, canned_id in auto_replies.items():
            if convs[cid].status == Status.OPEN:
                _auto_reply(cid, canned_id)

    return follow_up


def _languages(conv_ids: Sequence[int]) -> dict[int, str]:
    """The language of each conversation's first inbound message that has one."""
    from hubbub.inbox.models import Message

    langs: dict[int, str] = {}
    for cid, lang in (
        Message.objects.filter(conversation_id__in=list(conv_ids), direction="in")
        .exclude(lang="")
        .order_by("created_at")
        .values_list("conversation_id", "lang")
    ):
        langs.setdefault(cid, lang.lower())
    return langs


def _add_tags(org_id: int, tags_by_conv: dict[int, set[str]]) -> None:
    wanted = {t for tags in tags_by_conv.values() for t in tags}
    existing = dict(Tag.objects.filter(organization_id=org_id, name__in=wanted).values_list("name", "id"))
    missing = [Tag(organization_id=org_id, name=n) for n in wanted if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = dict(Tag.objects.filter(organization_id=org_id, name__in=wanted).values_list("name", "id"))
    through = Conversation.tags.through
    through.objects.bulk_create(
        [through(conversation_id=cid, tag_id=existing[t]) for cid, tags in tags_by_conv.items() for t in tags],
        ignore_conflicts=True,
    )


def on_customer_messages(org_id: int, conversation_ids: Sequence[int]) -> None:
    """The customer wrote again on existing conversations: end a pending wait (reopen and
    resume the clocks) and start a next-response clock when our reply is the older message."""
    ids = list(conversation_ids)
    if not ids:
        return
    # By primary key only, organisation checked on the rows (see sla.start_next_response for why).
    waiting = Conversation.objects.filter(id__in=ids, status=Status.PENDING).values_list(
        "id", "organization_id", "last_inbound_at", "last_message_at"
    )
    reopen = [
        cid for cid, org, last_in, last_msg in waiting if org == org_id and last_in is not None and last_in >= last_msg
    ]
    if reopen:
        Conversation.objects.filter(id__in=reopen).update(status=Status.OPEN)
        sla.resume(reopen)
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    organization_id=org_id,
                    verb="conversation.status",
                    target_type="conversation",
                    target_id=str(cid),
                    data={"old": "pending", "new": "open", "why": "customer replied"},
                )
                for cid in reopen
            ]
        )
    sla.start_next_response(org_id, ids)


def on_status_changed(conv: Conversation, old_status: str) -> None:
    """Pending pauses the clocks, reopening resumes them, resolving stops them."""
    new = conv.status
    if new == old_status:
        return
    if new == Status.PENDING:
        sla.pause([conv.pk])
    elif new == Status.RESOLVED:
        sla.stop([conv.pk], [Metric.RESOLUTION])
        sla.stop([conv.pk], None, cancel=True)
    elif new == Status.OPEN:
        if old_status == Status.PENDING:
            sla.resume([conv.pk])
        else:  # reopened after resolution: the customer waits again for an answer
            sla.start_next_response(conv.organization_id, [conv.pk])
    conv.sla_due_at = Conversation.objects.filter(pk=conv.pk).values_list("sla_due_at", flat=True).first()


def on_reply_sent(conv: Conversation) -> None:
    """A reply stops the first- and next-response clocks (met or breached)."""
    sla.stop([conv.pk], [Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE])
    conv.sla_due_at = Conversation.objects.filter(pk=conv.pk).values_list("sla_due_at", flat=True).first()


# --------------------------------------------------------------------------- rules (supervisors)


def _rule_fields(data: dict[str, Any]) -> dict[str, Any]:
    name = str(data.get("name", "")).strip()
    if not name:
        raise ValueError("A rule needs a name.")
    conditions = clean_conditions(data.get("conditions") or {})
    actions = clean_actions(data.get("actions") or {})
    if not actions:
        raise ValueError("A rule needs at least one action.")
    return {
        "name": name[:120],
        "conditions": conditions,
        "actions": actions,
        "is_active": bool(data.get("is_active", True)),
        "stop_processing": bool(data.get("stop_processing", False)),
    }


def _check_rule_refs(scope: Scope, fields: dict[str, Any]) -> None:
    """Every id a rule names must belong to the same organisation (no cross-tenant references)."""
    org = scope.organization_id
    a, c = fields["actions"], fields["conditions"]
    if a.get("team_id") and not Team.objects.filter(organization_id=org, id=a["team_id"]).exists():
        raise ValueError("Unknown team.")
    if a.get("sla_policy_id") and not SLAPolicy.objects.filter(organization_id=org, id=a["sla_policy_id"]).exists():
        raise ValueError("Unknown SLA policy.")
    if (
        a.get("auto_reply_canned_id")
        and not CannedResponse.objects.filter(organization_id=org, id=a["auto_reply_canned_id"]).exists()
    ):
        raise ValueError("Unknown canned response.")
    if (
        c.get("business_hours_id")
        and not BusinessHours.objects.filter(organization_id=org, id=c["business_hours_id"]).exists()
    ):
        raise ValueError("Unknown business hours.")
    if c.get("brands") and not set(c["brands"]) <= set(scope.brand_ids):
        raise ValueError("Unknown brand.")


def create_rule(scope: Scope, data: dict[str, Any]) -> RoutingRule:
    require_role(scope, Role.SUPERVISOR)
    fields = _rule_fields(data)
    _check_rule_refs(scope, fields)
    last = RoutingRule.objects.filter(organization_id=scope.organization_id).aggregate(m=Max("position"))["m"]
    rule = RoutingRule.objects.create(
        organization_id=scope.organization_id, position=(last or 0) + 10, created_by=scope.user, **fields
    )
    audit(
        scope.organization_id,
        scope.user,
        "rule.create",
        rule,
        name=rule.name,
        conditions=rule.conditions,
        actions=rule.actions,
    )
    return rule


def update_rule(scope: Scope, rule: RoutingRule, data: dict[str, Any]) -> RoutingRule:
    require_role(scope, Role.SUPERVISOR)
    _same_org(scope, rule)
    fields = _rule_fields(data)
    _check_rule_refs(scope, fields)
    before = {"name": rule.name, "conditions": rule.conditions, "actions": rule.actions, "is_active": rule.is_active}
    for k, v in fields.items():
        setattr(rule, k, v)
    rule.save()
    audit(scope.organization_id, scope.user, "rule.update", rule, before=before, after=fields)
    return rule


def delete_rule(scope: Scope, rule: RoutingRule) -> None:
    require_role(scope, Role.SUPERVISOR)
    _same_org(scope, rule)
    audit(scope.organization_id, scope.user, "rule.delete", rule, name=rule.name)
    rule.delete()


def move_rule(scope: Scope, rule: RoutingRule, direction: int) -> None:
    """Swap a rule with its neighbour (direction -1 up, +1 down) and renumber."""
    require_role(scope, Role.SUPERVISOR)
    _same_org(scope, rule)
    rules = list(RoutingRule.objects.filter(organization_id=scope.organization_id).order_by("position", "id"))
    i = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
    j = i + (1 if direction > 0 else -1)
    if 0 <= j < len(rules):
        rules[i], rules[j] = rules[j], rules[i]
    for n, r in enumerate(rules):
        r.position = (n + 1) * 10
    RoutingRule.objects.bulk_update(rules, ["position"])
    audit(scope.organization_id, scope.user, "rule.move", rule, order=[r.pk for r in rules])


def preview_rule(scope: Scope, conditions: dict[str, Any], limit: int = 500) -> tuple[int, int, list[Conversation]]:
    """Which of the latest `limit` conversations would these conditions match? (matched, scanned, sample)"""
    from types import SimpleNamespace

    cond = clean_conditions(conditions)
    compiled = compile_rules([SimpleNamespace(conditions=cond, stop_processing=False, name="preview", actions={})])
    recent_ids = list(
        Conversation.objects.filter(organization_id=scope.organization_id, brand_id__in=scope.brand_ids)
        .order_by("-last_message_at", "-id")
        .values_list("id", flat=True)[:limit]
    )
    team_tz = dict(Team.objects.filter(organization_id=scope.organization_id).values_list("id", "timezone"))
    cals = sla.CalendarCache()
    hits = []
    for cid, f in _facts_rows(Conversation.objects.filter(id__in=recent_ids), compiled.needs_lang):
        hours = _hours_checker(scope.organization_id, cals, team_tz, f) if compiled.needs_hours else None
        if compiled.match(f, hours):
            hits.append(cid)
    sample = list(
        Conversation.objects.filter(id__in=hits).select_related("author", "brand").order_by("-last_message_at")[:20]
    )
    return len(hits), len(recent_ids), sample


def _same_org(scope: Scope, obj: Any) -> None:
    if obj.organization_id != scope.organization_id:
        raise PermissionDenied("Not part of this organisation.")


# --------------------------------------------------------------------------- SLA policies & hours


def save_business_hours(scope: Scope, data: dict[str, Any], hours: BusinessHours | None = None) -> BusinessHours:
    from hubbub.workflow.hours import Calendar, parse_schedule_text, zone

    require_role(scope, Role.SUPERVISOR)
    if hours is not None:
        _same_org(scope, hours)
    name = str(data.get("name", "")).strip()
    if not name:
        raise ValueError("Business hours need a name.")
    schedule = data.get("schedule")
    if isinstance(schedule, str):
        schedule = parse_schedule_text(schedule)
    holidays = data.get("holidays") or []
    if isinstance(holidays, str):
        holidays = [h.strip() for h in re.split(r"[,\s]+", holidays) if h.strip()]
    tz = str(data.get("timezone") or "UTC")
    if zone(tz).key != tz and tz != "UTC":
        raise ValueError(f"Unknown time zone {tz!r}.")
    try:
        Calendar.build(tz, schedule or {}, holidays)
    except ValueError as exc:
        raise ValueError(f"Holidays must be dates like 2026-12-25 ({exc}).") from exc
    hours = hours or BusinessHours(organization_id=scope.organization_id)
    hours.name, hours.schedule, hours.holidays, hours.timezone = name[:120], schedule or {}, sorted(holidays), tz
    hours.save()
    audit(
        scope.organization_id,
        scope.user,
        "business_hours.save",
        hours,
        name=hours.name,
        schedule=hours.schedule,
        holidays=hours.holidays,
    )
    return hours


def save_sla_policy(scope: Scope, data: dict[str, Any], policy: SLAPolicy | None = None) -> SLAPolicy:
    """Create or change an SLA policy; targets are minutes by metric and priority."""
    require_role(scope, Role.SUPERVISOR)
    if policy is not None:
        _same_org(scope, policy)
    name = str(data.get("name", "")).strip()
    if not name:
        raise ValueError("An SLA policy needs a name.")
    targets: dict[str, dict[str, int]] = {}
    for metric in Metric.values:
        per = (data.get("targets") or {}).get(metric) or {}
        clean = {}
        for prio, minutes in per.items():
            if minutes in (None, ""):
                continue
            m = int(minutes)
            if m <= 0 or str(prio) not in ("0", "1", "2", "3"):
                raise ValueError("Targets are positive minutes per priority 0-3.")
            clean[str(prio)] = m
        if clean:
            targets[metric] = clean
    hours_id = data.get("business_hours_id") or None
    if hours_id and not BusinessHours.objects.filter(organization_id=scope.organization_id, id=hours_id).exists():
        raise ValueError("Unknown business hours.")
    brand_id = data.get("brand_id") or None
    if brand_id and int(brand_id) not in scope.brand_ids:
        raise ValueError("Unknown brand.")
    warn = int(data.get("warn_at_pct") or 75)
    if not 1 <= warn <= 99:
        raise ValueError("Warn at a percentage between 1 and 99.")
    policy = policy or SLAPolicy(organization_id=scope.organization_id)
    policy.name, policy.targets, policy.business_hours_id, policy.brand_id = name[:120], targets, hours_id, brand_id
    policy.warn_at_pct = warn
    policy.is_default = bool(data.get("is_default", False))
    with transaction.atomic():
        if policy.is_default:  # one default per brand, and one for the organisation (brand left empty)
            same = SLAPolicy.objects.filter(organization_id=scope.organization_id, is_default=True)
            same = same.filter(brand_id=policy.brand_id) if policy.brand_id else same.filter(brand__isnull=True)
            same.exclude(pk=policy.pk).update(is_default=False)
        policy.save()
        audit(scope.organization_id, scope.user, "sla_policy.save", policy, name=policy.name, targets=targets)
    return policy


def delete_sla_policy(scope: Scope, policy: SLAPolicy) -> None:
    require_role(scope, Role.SUPERVISOR)
    _same_org(scope, policy)
    audit(scope.organization_id, scope.user, "sla_policy.delete", policy, name=policy.name)
    policy.delete()


# --------------------------------------------------------------------------- approval


def save_approval_policy(scope: Scope, data: dict[str, Any], policy: ApprovalPolicy | None = None) -> ApprovalPolicy:
    require_role(scope, Role.SUPERVISOR)
    if policy is not None:
        _same_org(scope, policy)

    def listed(key: str) -> list[str]:
        v = data.get(key) or []
        if isinstance(v, str):
            v = re.split(r"[,\n]", v)
        return [str(x).strip() for x in v if str(x).strip()]

    name = str(data.get("name", "")).strip()
    if not name:
        raise ValueError("An approval policy needs a name.")
    roles = listed("roles")
    if not set(roles) <= set(Role.values):
        raise ValueError(f"Roles are {', '.join(Role.values)}.")
    brand_ids = [int(b) for b in listed("brand_ids")]
    if not set(brand_ids) <= set(scope.brand_ids):
        raise ValueError("Unknown brand.")
    policy = policy or ApprovalPolicy(organization_id=scope.organization_id)
    policy.name = name[:120]
    policy.is_active = bool(data.get("is_active", True))
    policy.roles = roles
    policy.brand_ids = brand_ids
    policy.intents = listed("intents")
    policy.topics = listed("topics")
    policy.sensitive_words = [w.lower() for w in listed("sensitive_words")]
    policy.during_incident = bool(data.get("during_incident", False))
    policy.save()
    audit(
        scope.organization_id,
        scope.user,
        "approval_policy.save",
        policy,
        name=policy.name,
        roles=roles,
        brand_ids=brand_ids,
        intents=policy.intents,
        topics=policy.topics,
        words=policy.sensitive_words,
        during_incident=policy.during_incident,
    )
    return policy


def delete_approval_policy(scope: Scope, policy: ApprovalPolicy) -> None:
    require_role(scope, Role.SUPERVISOR)
    _same_org(scope, policy)
    audit(scope.organization_id, scope.user, "approval_policy.delete", policy, name=policy.name)
    policy.delete()


def _active_incident(brand_id: int) -> Any:
    """The listening app's war-room incident for this brand, if that feature is installed."""
    try:
        from hubbub.listening import services as listening_services
    except ImportError:  # pragma: no cover
        return None
    fn = getattr(listening_services, "active_incident", None)
    if fn is None:
        return None
    try:
        return fn(brand_id)
    except Exception:  # never let a war-room bug open the gate: treat as "incident" below
        log.exception("active_incident(%s) failed; holding the reply for approval", brand_id)
        return True


def approval_reasons(role: str | None, conv: Conversation, brand_id: int, text: str) -> list[str]:
    """Why a reply with this text by this role on this conversation needs approval (empty: none)."""
    reasons = []
    if conv.requires_approval:
        reasons.append("routing rule requires approval for this conversation")
    incident: Any = _active_incident(brand_id)
    if incident:
        reasons.append("the brand has an active incident (war room): every reply needs approval")
    lowered = text.lower()
    for p in ApprovalPolicy.objects.filter(organization_id=conv.organization_id, is_active=True):
        if p.roles and role not in p.roles:
            continue
        if p.brand_ids and brand_id not in p.brand_ids:
            continue
        if p.intents and conv.intent not in p.intents:
            continue
        if p.topics and conv.topic not in p.topics:
            continue
        detail = ""
        if p.sensitive_words:
            hit = [w for w in p.sensitive_words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", lowered)]
            if not hit:
                continue
            detail = f": contains {', '.join(repr(w) for w in hit)}"
        if p.during_incident:
            if not incident:
                continue
            detail += " during an active incident"
        reasons.append(f"policy '{p.name}'{detail}")
    return reasons


def reply_needs_approval(scope: Scope | None, reply: Reply) -> list[str]:
    """Reasons this reply must be approved before sending (empty: send now)."""
    return approval_reasons(scope.role if scope else None, reply.conversation, reply.brand_id, reply.text)


def pending_replies(scope: Scope) -> Any:
    from hubbub.tenancy.scoping import scoped

    return (
        scoped(Reply.objects.filter(state=Reply.State.PENDING_APPROVAL), scope)
        .select_related("conversation", "conversation__author", "brand", "author")
        .order_by("created_at")
    )


def _check_reviewer(scope: Scope, reply: Reply) -> None:
    require_role(scope, Role.SUPERVISOR)
    if reply.organization_id != scope.organization_id or reply.brand_id not in scope.brand_ids:
        raise PermissionDenied("Not part of your brands.")
    if reply.author_id == scope.user.pk:
        raise PermissionDenied("Replies need a second pair of eyes: you cannot approve or reject your own.")


def _notify(reply: Reply, reviewer: Any, text: str) -> None:
    """Tell the agent: a notice on the conversation (a note) and a live event addressed to them."""
    Note.objects.create(
        organization_id=reply.organization_id, conversation_id=reply.conversation_id, author=reviewer, text=text
    )
    live.publish(
        "notice",
        reply.organization_id,
        user_id=reply.author_id,
        conversation_id=reply.conversation_id,
        reply_id=reply.pk,
        text=text,
    )


def approve_reply(scope: Scope, reply: Reply, text: str | None = None) -> Reply:
    """Approve (optionally after editing) a held reply and send it through the exactly-once path."""
    from hubbub.connectors.outbound import check_length
    from hubbub.inbox.tasks import deliver_reply_task

    _check_reviewer(scope, reply)
    new_text = reply.text if text is None or not text.strip() else text.strip()
    edited = new_text != reply.text
    if edited:
        check_length(reply.conversation.network, new_text)
    with transaction.atomic():
        claimed = Reply.objects.filter(pk=reply.pk, state=Reply.State.PENDING_APPROVAL).update(
            state=Reply.State.APPROVED, approved_by=scope.user, text=new_text
        )
        if not claimed:
            raise ValueError("This reply is no longer waiting for approval.")
        original = reply.text
        reply.refresh_from_db()
        audit(
            scope.organization_id,
            scope.user,
            "reply.edit_approve" if edited else "reply.approve",
            reply,
            conversation=reply.conversation_id,
            **({"original": original, "text": new_text} if edited else {}),
        )
        who = scope.user.get_username()
        _notify(reply, scope.user, f"Reply {'edited and ' if edited else ''}approved by {who}.")
        transaction.on_commit(lambda: deliver_reply_task(reply.pk))
    _changed(reply.conversation, reply=reply.state)
    return reply


def reject_reply(scope: Scope, reply: Reply, comment: str) -> Reply:
    _check_reviewer(scope, reply)
    comment = (comment or "").strip()
    if not comment:
        raise ValueError("Say why: a rejection needs a comment for the agent.")
    with transaction.atomic():
        claimed = Reply.objects.filter(pk=reply.pk, state=Reply.State.PENDING_APPROVAL).update(
            state=Reply.State.REJECTED, approved_by=scope.user, review_comment=comment[:2000]
        )
        if not claimed:
            raise ValueError("This reply is no longer waiting for approval.")
        reply.refresh_from_db()
        audit(
            scope.organization_id,
            scope.user,
            "reply.reject",
            reply,
            conversation=reply.conversation_id,
            comment=comment,
        )
        _notify(reply, scope.user, f"Reply rejected by {scope.user.get_username()}: {comment}")
    _changed(reply.conversation, reply=reply.state)
    return reply


BULK_REPLY_LIMIT = 100  # conversations in one bulk reply: the inbox's and `POST /api/v1/workflow/bulk-replies`


class BulkReplyRefused(ValueError):
    """The bulk reply does not fit some of its conversations, so no reply was created on any.
    `failures`: conversation id → why, in the order the conversations were given."""

    def __init__(self, failures: dict[int, str]) -> None:
        self.failures = failures
        n = len(failures)
        super().__init__(
            f"No reply was created: {n} conversation{'s' if n != 1 else ''} cannot take this text "
            f"({'; '.join(f'#{i}: {why}' for i, why in failures.items())}). "
            "Shorten the text or leave those conversations out, then send again."
        )


def bulk_reply(scope: Scope, conversations: Sequence[Conversation], text: str) -> list[Reply]:
    """The same reply on many conversations, all or nothing; each goes through `create_reply`, approval
    included. Everything is checked before anything is created (at most `BULK_REPLY_LIMIT` conversations, each
    once, a text that fits every conversation's network: else `BulkReplyRefused` naming each that does not),
    then the replies are created in one transaction, so a failure half-way leaves none behind (their delivery
    is queued on commit)."""
    from hubbub.connectors.outbound import ReplyTooLong, check_length
    from hubbub.inbox.services import create_reply

    require_role(scope, Role.AGENT)
    if len(conversations) > BULK_REPLY_LIMIT:
        raise ValueError(f"At most {BULK_REPLY_LIMIT} conversations at once; {len(conversations)} were given.")
    ids = [conv.pk for conv in conversations]
    if len(set(ids)) != len(ids):
        raise ValueError("Each conversation gets one reply: a conversation is listed more than once.")
    if not text.strip():
        raise ValueError("The reply is empty.")
    failures: dict[int, str] = {}
    for conv in conversations:
        try:
            check_length(conv.network, text.strip())
        except ReplyTooLong as exc:
            failures[conv.pk] = str(exc)
    if failures:
        raise BulkReplyRefused(failures)
    with transaction.atomic():
        return [create_reply(scope, conv, text) for conv in conversations]


# --------------------------------------------------------------------------- canned responses


class _Vars(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def canned_variables(conv: Conversation, agent: Any | None) -> dict[str, str]:
    author = conv.author
    customer = author.customer if author.customer_id else None
    full = (customer.name if customer and customer.name else "") or author.display_name or author.handle or ""
    first = full.split()[0] if full.split() else "there"
    if agent is None:
        agent_name = conv.brand.name
    else:
        agent_name = (getattr(agent, "first_name", "") or agent.get_username()).strip()
    return {
        "first_name": first,
        "agent_name": agent_name,
        "case_number": f"C-{conv.pk:06d}",
        "brand": conv.brand.name,
    }


def render_template(body: str, conv: Conversation, agent: Any | None) -> str:
    """Fill {first_name}, {agent_name}, {case_number}, {brand}; unknown braces stay as typed."""
    try:
        return body.format_map(_Vars(canned_variables(conv, agent)))
    except (ValueError, IndexError):  # stray braces: leave the text alone
        return body


def render_canned(scope: Scope, canned: CannedResponse, conv: Conversation) -> dict[str, Any]:
    from hubbub.connectors.models import MAX_REPLY_CHARS

    if canned.organization_id != scope.organization_id or conv.organization_id != scope.organization_id:
        raise PermissionDenied("Not part of this organisation.")
    text = render_template(canned.body, conv, scope.user)
    limit = MAX_REPLY_CHARS.get(conv.network)  # type: ignore[call-overload]
    return {"text": text, "length": len(text), "limit": limit, "fits": limit is None or len(text) <= limit}


def save_canned(scope: Scope, data: dict[str, Any], canned: CannedResponse | None = None) -> CannedResponse:
    require_role(scope, Role.SUPERVISOR)
    if canned is not None:
        _same_org(scope, canned)
    title, body = str(data.get("title", "")).strip(), str(data.get("body", "")).strip()
    if not title or not body:
        raise ValueError("A canned response needs a title and a text.")
    brand_id = data.get("brand_id") or None
    if brand_id and int(brand_id) not in scope.brand_ids:
        raise ValueError("Unknown brand.")
    unknown = set(re.findall(r"\{(\w+)\}", body)) - {"first_name", "agent_name", "case_number", "brand"}
    if unknown:
        raise ValueError(f"Unknown variable(s): {', '.join(sorted(unknown))}.")
    canned = canned or CannedResponse(organization_id=scope.organization_id)
    canned.title, canned.body, canned.brand_id = title[:120], body, brand_id
    canned.save()
    audit(scope.organization_id, scope.user, "canned.save", canned, title=canned.title)
    return canned


def delete_canned(scope: Scope, canned: CannedResponse) -> None:
    require_role(scope, Role.SUPERVISOR)
    _same_org(scope, canned)
    audit(scope.organization_id, scope.user, "canned.delete", canned, title=canned.title)
    canned.delete()


def _auto_reply(conv_id: int, canned_id: int) -> None:
    """A routing rule's auto-reply: rendered, length-checked, approval-checked like any reply."""
    from hubbub.connectors.outbound import check_length
    from hubbub.inbox.tasks import deliver_reply_task

    conv = Conversation.objects.select_related("author", "author__customer", "brand").get(pk=conv_id)
    canned = CannedResponse.objects.filter(organization_id=conv.organization_id, id=canned_id).first()
    if canned is None:
        return
    text = render_template(canned.body, conv, None)
    try:
        check_length(conv.network, text)
    except ValueError as exc:
        log.warning("auto-reply %s skipped on conversation %s: %s", canned_id, conv.pk, exc)
        return
    reply = Reply.objects.create(
        organization_id=conv.organization_id, brand_id=conv.brand_id, conversation=conv, author=None, text=text
    )
    reasons = approval_reasons(None, conv, conv.brand_id, text)
    reply.state = Reply.State.PENDING_APPROVAL if reasons else Reply.State.APPROVED
    reply.review_comment = "; ".join(reasons)
    reply.save(update_fields=["state", "review_comment"])
    audit(conv.organization_id, None, "reply.create", reply, conversation=conv.pk, state=reply.state, auto=True)
    if reply.state == Reply.State.APPROVED:
        transaction.on_commit(lambda: deliver_reply_task(reply.pk))


# --------------------------------------------------------------------------- assignment


def save_assignment_policy(scope: Scope, team: Team, mode: str, capacity: int) -> AssignmentPolicy:
    require_role(scope, Role.SUPERVISOR)
    _same_org(scope, team)
    if mode not in AssignmentPolicy.Mode.values:
        raise ValueError(f"Mode is one of {', '.join(AssignmentPolicy.Mode.values)}.")
    if capacity < 1:
        raise ValueError("Capacity is at least 1.")
    policy, _ = AssignmentPolicy.objects.update_or_create(
        team=team, defaults={"organization_id": scope.organization_id, "mode": mode, "capacity": capacity}
    )
    audit(
        scope.organization_id, scope.user, "assignment_policy.save", policy, team=team.pk, mode=mode, capacity=capacity
    )
    return policy


def _auto_assign(org_id: int, convs: Sequence[Conversation], actor: Any) -> list[Conversation]:
    """Give team conversations to available agents (round-robin or least loaded, under capacity).

    Fixed queries per call: policies, members, availability, open loads. Sets
    `assignee_id` on the objects (callers save) and writes audit entries in bulk.
    """
    if not convs:
        return []
    team_ids = {c.team_id for c in convs if c.team_id}
    policies = {
        p.team_id: p
        for p in AssignmentPolicy.objects.filter(organization_id=org_id, team_id__in=team_ids).exclude(
            mode=AssignmentPolicy.Mode.MANUAL
        )
    }
    if not policies:
        return []
    members: dict[int, list[int]] = defaultdict(list)
    through = Team.members.through
    for team_id, user_id in through.objects.filter(team_id__in=list(policies)).values_list("team_id", "user_id"):
        members[team_id].append(user_id)
    available = set(
        Membership.objects.filter(
            organization_id=org_id,
            is_available=True,
            role__in=[Role.AGENT, Role.SUPERVISOR, Role.ADMIN],
            user__is_active=True,
        ).values_list("user_id", flat=True)
    )
    all_users = {u for us in members.values() for u in us}
    load = dict(
        Conversation.objects.filter(organization_id=org_id, assignee_id__in=all_users)
        .exclude(status=Status.RESOLVED)
        .values("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    assigned: list[Conversation] = []
    for conv in sorted(convs, key=lambda c: (-c.priority, c.first_message_at)):
        policy = policies.get(conv.team_id)  # type: ignore[arg-type]
        if policy is None:
            continue
        candidates = sorted(u for u in members[policy.team_id] if u in available and load.get(u, 0) < policy.capacity)
        if not candidates:
            continue
        if policy.mode == AssignmentPolicy.Mode.ROUND_ROBIN:
            last = policy.last_assigned_user_id or 0
            later = [u for u in candidates if u > last]
            chosen = later[0] if later else candidates[0]
        else:
            chosen = min(candidates, key=lambda u: (load.get(u, 0), u))
        policy.last_assigned_user_id = chosen
        load[chosen] = load.get(chosen, 0) + 1
        conv.assignee_id = chosen
        assigned.append(conv)
    for policy in policies.values():
        AssignmentPolicy.objects.filter(pk=policy.pk).update(last_assigned_user_id=policy.last_assigned_user_id)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                organization_id=org_id,
                actor=actor,
                verb="conversation.assign",
                target_type="conversation",
                target_id=str(c.pk),
                data={"new": c.assignee_id, "team": c.team_id, "auto": True},
            )
            for c in assigned
        ]
    )
    return assigned


def set_availability(scope: Scope, user_id: int, available: bool) -> Membership:
    """Online/away. Going away hands the agent's open conversations back: auto-assigned
    teams re-assign them at once, manual teams get them back in their queue."""
    require_role(scope, Role.AGENT)
    if user_id != scope.user.pk and not scope.can(Role.SUPERVISOR):
        raise PermissionDenied("Only supervisors can change someone else's availability.")
    membership = Membership.objects.filter(organization_id=scope.organization_id, user_id=user_id).first()
    if membership is None:
        raise PermissionDenied("That user is not a member of this organisation.")
    with transaction.atomic():
        membership.is_available = available
        membership.save(update_fields=["is_available"])
        audit(scope.organization_id, scope.user, "member.availability", membership, user=user_id, available=available)
        moved: list[Conversation] = []
        if not available:
            convs = list(
                Conversation.objects.filter(organization_id=scope.organization_id, assignee_id=user_id).exclude(
                    status=Status.RESOLVED
                )
            )
            for c in convs:
                c.assignee_id = None
            moved = _auto_assign(scope.organization_id, [c for c in convs if c.team_id], actor=scope.user)
            fast_update(convs, ["assignee_id"])
            AuditEvent.objects.bulk_create(
                [
                    AuditEvent(
                        organization_id=scope.organization_id,
                        actor=scope.user,
                        verb="conversation.unassign",
                        target_type="conversation",
                        target_id=str(c.pk),
                        data={"old": user_id, "why": "agent away"},
                    )
                    for c in convs
                    if c.assignee_id is None
                ]
            )
    live.publish("availability", scope.organization_id, user_id=user_id, available=available, reassigned=len(moved))
    return membership


# --------------------------------------------------------------------------- collision warning


def touch_composer(scope: Scope, conv: Conversation) -> list[str]:
    """Record that this user has the composer open; return the other agents composing now."""
    require_role(scope, Role.AGENT)
    now = timezone.now()
    ComposerPresence.objects.update_or_create(
        conversation=conv, user=scope.user, defaults={"organization_id": scope.organization_id, "seen_at": now}
    )
    others = others_composing(conv, scope.user.pk, now)
    if others:
        live.publish("composing", scope.organization_id, conversation_id=conv.pk, user=scope.user.get_username())
    return others


def others_composing(conv: Conversation, user_id: int, now: datetime | None = None) -> list[str]:
    now = now or timezone.now()
    return list(
        ComposerPresence.objects.filter(conversation=conv, seen_at__gte=now - COMPOSING_TTL)
        .exclude(user_id=user_id)
        .values_list("user__username", flat=True)
    )


def leave_composer(scope: Scope, conv: Conversation) -> None:
    ComposerPresence.objects.filter(conversation=conv, user=scope.user).delete()


# --------------------------------------------------------------------------- audit log


def audit_events(
    scope: Scope, verb: str = "", actor: str = "", target: str = "", since: Any = None, until: Any = None
) -> Any:
    require_role(scope, Role.SUPERVISOR)
    qs = AuditEvent.objects.filter(organization_id=scope.organization_id).select_related("actor")
    if verb:
        qs = qs.filter(verb__startswith=verb)
    if actor:
        qs = qs.filter(actor__isnull=True) if actor == "system" else qs.filter(actor__username=actor)
    if target:
        kind, _, ident = target.partition(":")
        qs = qs.filter(target_type=kind)
        if ident:
            qs = qs.filter(target_id=ident)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return qs.order_by("-created_at", "-id")
