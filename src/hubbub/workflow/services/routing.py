"""Routing: the rules decide team, priority, tags, SLA policy, approval and spam for new
conversations, then assignment, SLA clocks and canned auto-replies follow.

Two entry points share `_route`: `route_planned` for conversations an ingest batch is about to
create (routed in memory, inserted once, complete) and `route_new_conversations` for stored ones
(re-routing, tests). Both work on whole batches with a fixed number of queries, so 50 active
rules barely slow ingestion; `_Row` (a `rows.row_class`) keeps `Model.__init__` off that hot path.
`facts_rows` and `hours_checker` are shared with the rule preview (`rule_admin`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from hubbub.crm.models import Customer
from hubbub.db import fast_insert_dicts, fast_update
from hubbub.inbox.conversation_rows import NewConversation
from hubbub.inbox.models import Conversation, Message, Priority, Status, Tag
from hubbub.rows import row_class, rows_in, values_rows
from hubbub.tenancy.models import Team
from hubbub.workflow import sla
from hubbub.workflow.models import RoutingRule, SLAClock, SLAPolicy
from hubbub.workflow.rules import Facts, compile_rules, describe
from hubbub.workflow.services.assignment import auto_assign
from hubbub.workflow.services.canned import auto_reply
from hubbub.workflow.signals import conversations_rerouted

PRIORITY_NAMES = {p.value: p.label.lower() for p in Priority}


_URGENT, _HIGH, _NORMAL = int(Priority.URGENT), int(Priority.HIGH), int(Priority.NORMAL)  # enum lookups cost µs


def _priority_from_urgency(urgency: int) -> int:
    return _URGENT if urgency >= 80 else _HIGH if urgency >= 60 else _NORMAL


def active_rules(org_id: int) -> list[RoutingRule]:
    return list(RoutingRule.objects.filter(organization_id=org_id, is_active=True).order_by("position", "id"))


@row_class(Conversation)
class _FactRow:
    """A stored conversation's rule facts, read across its author and customer (`rows.values_rows`)."""

    pk: int
    brand_id: int
    network: str
    intent: str
    topic: str
    sentiment: str
    urgency: int
    search_text: str
    author__customer__tier: str | None
    author__customer__lifetime_value: Decimal | None
    author__followers: int | None
    first_message_at: datetime
    team_id: int | None


def _facts(
    conv: _FactRow | NewConversation, lang: str, tier: str | None, value: Decimal | float | None, followers: int | None
) -> Facts:
    """Rule facts of a conversation, stored (`_FactRow`) or about to be (`NewConversation`), with what is
    known of its author and customer and its language."""
    return Facts(  # by position, in Facts' field order: half the cost of keywords, once per new conversation
        conv.brand_id,
        conv.network,
        conv.intent,
        conv.topic,
        conv.sentiment,
        conv.urgency,
        lang,
        conv.search_text,
        tier or "unknown",
        float(value or 0),
        followers or 0,
        conv.first_message_at,
        conv.team_id,
    )


def facts_rows(conversations: QuerySet[Conversation], needs_lang: bool) -> list[tuple[int, Facts]]:
    """Flatten conversations into rule facts with one joined query (plus one for languages)."""
    rows = values_rows(_FactRow, conversations)
    langs = _languages([r.pk for r in rows]) if needs_lang and rows else {}
    out: list[tuple[int, Facts]] = []
    for r in rows:
        customer = (r.author__customer__tier, r.author__customer__lifetime_value)
        out.append((r.pk, _facts(r, langs.get(r.pk, ""), *customer, r.author__followers)))
    return out


def hours_checker(org_id: int, cals: sla.CalendarCache, team_tz: dict[int, str], f: Facts) -> Any:
    def hours(bh_id: int) -> bool:
        return cals.get(bh_id, team_tz.get(f.team_id) if f.team_id else None).is_open(f.at)

    return hours


@row_class(Conversation)
class _Row:
    """A stored conversation as the routing hook needs it: no `Model.__init__` on the hot path, written
    back with `db.fast_update`. The fields with a default are not read: routing computes them."""

    pk: int
    status: str
    urgency: int
    first_message_at: datetime
    first_response_at: datetime | None
    team_id: int | None
    sla_policy_id: int | None
    requires_approval: bool
    is_spam: bool
    resolved_at: datetime | None
    routing_log: list[dict[str, Any]]
    assignee_id: int | None
    brand_id: int
    organization_id: int
    priority: int = Priority.NORMAL
    sla_due_at: datetime | None = None


def route_new_conversations(org_id: int, conversation_ids: Sequence[int]) -> None:
    """Route stored conversations (re-routing, tests): rules → team/priority/tags/SLA/approval/spam,
    then automatic assignment, SLA clocks and canned auto-replies; then `signals.conversations_rerouted`.

    The ingest pipeline routes new conversations before they are written (`route_planned`);
    both go through `_route`. One batch, a fixed number of queries.
    """
    ids = list(conversation_ids)
    if not ids:
        return
    ctx = _RoutingContext.load(org_id)
    # By primary key only, organisation checked on the rows: with `organization_id = …` in the
    # WHERE clause SQLite walks the organisation's whole SLA index instead.
    convs = {c.pk: c for c in rows_in(_Row, "id", ids) if c.organization_id == org_id}
    facts: list[tuple[int, Facts]] = []
    if ctx.rules and convs:
        facts = facts_rows(Conversation.objects.filter(id__in=list(convs)), ctx.compiled.needs_lang)
    follow_up = _route(org_id, ctx, convs, facts)
    fast_update(list(convs.values()), _ROUTED_FIELDS)  # type: ignore[arg-type]
    follow_up()
    if convs:  # stored rows changed outside a `do_*` action: the apps above hear it here
        conversations_rerouted.send(
            sender=Conversation, organization_id=org_id, conversation_ids=list(convs), fields=set(_ROUTED_FIELDS)
        )


def route_planned(org_id: int, convs: Sequence[NewConversation], authors: dict[int, Any]) -> Callable[[], None]:
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
            tier, value = (crm.get(author.customer_id) if author else None) or ("unknown", 0)
            followers = author.followers if author else 0
            facts.append((c.pk, _facts(c, c.lang, tier, value, followers)))
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
        hours = hours_checker(org_id, cals, team_tz, f) if compiled.needs_hours else None
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
    auto_assign(org_id, [c for c in open_convs if c.team_id and c.assignee_id is None], actor=None)
    clock_rows = sla.clocks_for_new(
        org_id, list(convs.values()), policies, sla.default_policies(policies.values()), cals, team_tz
    )
    fast_insert_dicts(SLAClock, clock_rows)
    for row in clock_rows:
        conv = convs[row["conversation_id"]]
        if row["state"] == "running" and row["due_at"] and (conv.sla_due_at is None or row["due_at"] < conv.sla_due_at):
            conv.sla_due_at = row["due_at"]

    def follow_up() -> None:
        if tags_to_add:
            _add_tags(org_id, tags_to_add)
        for cid, canned_id in auto_replies.items():
            if convs[cid].status == Status.OPEN:
                auto_reply(cid, canned_id)

    return follow_up


def _languages(conv_ids: Sequence[int]) -> dict[int, str]:
    """The language of each conversation's first inbound message that has one."""
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
