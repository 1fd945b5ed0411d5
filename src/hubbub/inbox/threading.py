"""Threading: which conversation does each incoming message belong to?

Rules, in order:
1. a reply (`in_reply_to`) joins its parent's conversation, wherever it is;
2. a customer's mention joins that customer's open (or pending) conversation with the brand;
3. otherwise it starts a new conversation.
A brand's own message whose parent is unknown starts a resolved conversation of the
brand account, so it is stored (never lost) without cluttering the open inbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.utils import timezone

from hubbub.analysis.types import Analysis
from hubbub.connectors.events import InboundEvent
from hubbub.db import (
    chunked,
    fast_insert_dicts,
    fast_update,
    fetch_values,
    in_clause,
    reserve_ids,
    rows_by_external_id,
)
from hubbub.inbox.models import Conversation, Direction, Message, Priority, Status
from hubbub.tenancy.models import Brand

if TYPE_CHECKING:
    from hubbub.crm.services import AuthorRow

SEARCH_TEXT_LIMIT = 2000
ProfileKey = tuple[str, str]


@dataclass
class ThreadResult:
    message_count: int = 0
    new_conversation_ids: list[int] = field(default_factory=list)
    touched_conversation_ids: list[int] = field(default_factory=list)


@dataclass
class ThreadPlan:
    """One batch threaded in memory and not yet written: the step between lets routing decide
    team, priority and SLA of the new conversations so each is inserted once, complete."""

    org_id: int
    new_conversations: list[NewConversation] = field(default_factory=list)
    touched: dict[int, ConversationRow | NewConversation] = field(default_factory=dict)
    assignments: list[tuple[InboundEvent, Brand, Analysis | None, ConversationRow | NewConversation]] = field(
        default_factory=list
    )
    author_pk: dict[ProfileKey, int] = field(default_factory=dict)
    now: datetime = field(default_factory=timezone.now)  # `updated_at` of every conversation the batch touches


def thread_events(
    org_id: int,
    items: Sequence[tuple[InboundEvent, Brand]],
    analyses: Sequence[Analysis | None],
    profiles: dict[ProfileKey, AuthorRow],
) -> ThreadResult:
    """Thread, store and aggregate one time-ordered batch with a fixed number of queries."""
    return write_threads(plan_threads(org_id, items, analyses, profiles))


def plan_threads(
    org_id: int,
    items: Sequence[tuple[InboundEvent, Brand]],
    analyses: Sequence[Analysis | None],
    profiles: dict[ProfileKey, AuthorRow],
) -> ThreadPlan:
    """Decide every message's conversation and fold the messages into them, in memory."""
    plan = ThreadPlan(org_id, author_pk={k: p.pk for k, p in profiles.items()})
    keys = [(ev.network, ev.external_id) for ev, _ in items]
    already = _existing_message_keys(org_id, keys)
    todo = [
        (ev, brand, analyses[i]) for i, (ev, brand) in enumerate(items) if (ev.network, ev.external_id) not in already
    ]
    if not todo:
        return plan

    parent_ids = {(ev.network, ev.in_reply_to) for ev, _, _ in todo if ev.in_reply_to}
    parent_conv = _conversation_of_messages(org_id, parent_ids)
    author_ids = {profiles[(ev.network, ev.author_id)].pk for ev, _, _ in todo}
    open_convs: dict[tuple[int, int], ConversationRow | NewConversation] = {}
    for existing in _load_rows(org_id, "author_id", sorted(author_ids)):
        open_convs[(existing.brand_id, existing.author_id)] = existing
    loaded: dict[int, ConversationRow | NewConversation] = {c.pk: c for c in open_convs.values()}
    need = {cid for cid in parent_conv.values() if cid not in loaded}
    if need:
        loaded.update({c.pk: c for c in _load_rows(org_id, "id", sorted(need))})

    new_convs: list[NewConversation] = []
    batch_conv: dict[ProfileKey, ConversationRow | NewConversation] = {}
    assignments: list[tuple[InboundEvent, Brand, Analysis | None, ConversationRow | NewConversation]] = []
    for ev, brand, analysis in todo:
        author = profiles[(ev.network, ev.author_id)]
        conv: ConversationRow | NewConversation | None = None
        if ev.in_reply_to:
            key = (ev.network, ev.in_reply_to)
            conv = batch_conv.get(key)
            if conv is None and key in parent_conv:
                conv = loaded.get(parent_conv[key])
        if conv is None and ev.direction == Direction.IN:
            conv = open_convs.get((brand.pk, author.pk))
        if conv is None:
            conv = NewConversation(
                organization_id=org_id,
                brand_id=brand.pk,
                network=ev.network,
                author_id=author.pk,
                status=Status.OPEN if ev.direction == Direction.IN else Status.RESOLVED,
                resolved_at=None if ev.direction == Direction.IN else ev.created_at,
                first_message_at=ev.created_at,
                last_message_at=ev.created_at,
                search_text=f"@{author.handle} {author.display_name}".lower(),
            )
            new_convs.append(conv)
            if ev.direction == Direction.IN:
                open_convs[(brand.pk, author.pk)] = conv
        batch_conv[(ev.network, ev.external_id)] = conv
        assignments.append((ev, brand, analysis, conv))

    if new_convs:
        for conv, pk in zip(new_convs, reserve_ids(Conversation, len(new_convs)), strict=True):
            conv.pk = pk
    # Fold every message into its conversation first, so new conversations are written once, complete.
    for ev, _brand, a, target in assignments:
        _fold(target, ev, a)
        target.updated_at = plan.now
        plan.touched[target.pk] = target
        if ev.lang and ev.direction == Direction.IN and isinstance(target, NewConversation) and not target.lang:
            target.lang = ev.lang.lower()  # the batch is time-ordered: the first inbound message's language
    plan.new_conversations = new_convs
    plan.assignments = assignments
    return plan


def write_threads(plan: ThreadPlan) -> ThreadResult:
    """Insert the new conversations and the messages, update the conversations that grew."""
    result = ThreadResult()
    if not plan.assignments:
        return result
    org_id = plan.org_id
    if plan.new_conversations:
        fast_insert_dicts(Conversation, [c.row(plan.now) for c in plan.new_conversations])
        result.new_conversation_ids = [c.pk for c in plan.new_conversations]
    author_pk = plan.author_pk
    messages = [
        {
            "organization_id": org_id,
            "brand_id": brand.pk,
            "conversation_id": conv.pk,
            "network": ev.network,
            "external_id": ev.external_id,
            "direction": ev.direction,
            "author_id": author_pk[(ev.network, ev.author_id)],
            "text": ev.text,
            "created_at": ev.created_at,
            "in_reply_to": ev.in_reply_to,
            "url": ev.url[:500],
            "lang": ev.lang[:10],
            "retweets": max(0, ev.retweets),
            "likes": max(0, ev.likes),
            "sentiment": a.sentiment if a else "",
            "sentiment_score": a.sentiment_score if a else 0.0,
            "intent": a.intent if a else "",
            "topic": a.topic[:60] if a else "",
            "journey_stage": a.journey_stage if a else "",
            "urgency": a.urgency if a else 0,
            "analysis": _analysis_json(a),
            "model_version": a.model_version if a else "",
            "sent_by_id": None,
        }
        for ev, brand, a, conv in plan.assignments
    ]
    fast_insert_dicts(Message, messages)  # ids are not needed here; one executemany, no model instances
    result.message_count = len(messages)
    fast_update([c for c in plan.touched.values() if isinstance(c, ConversationRow)], _FOLDED)  # type: ignore[misc]
    result.touched_conversation_ids = list(plan.touched)
    return result


_FOLDED = (
    "status",
    "preview",
    "search_text",
    "sentiment",
    "sentiment_score",
    "intent",
    "topic",
    "urgency",
    "message_count",
    "first_message_at",
    "last_message_at",
    "last_inbound_at",
    "first_response_at",
    "resolved_at",
    "updated_at",
)


class ConversationRow:
    """A stored conversation as threading needs it: the folded summary fields, read with raw SQL
    (`db.fetch_values`; a `Model.__init__` per returning customer cost more than the update).

    `_meta` lets `fast_update` write these rows exactly as it writes Conversation objects.
    """

    __slots__ = ("pk", "organization_id", "brand_id", "author_id", *_FOLDED)
    _meta = Conversation._meta
    pk: int
    organization_id: int
    brand_id: int
    author_id: int
    status: str
    preview: str
    search_text: str
    sentiment: str
    sentiment_score: float
    intent: str
    topic: str
    urgency: int
    message_count: int
    first_message_at: datetime
    last_message_at: datetime
    last_inbound_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    updated_at: datetime | None


def _load_rows(org_id: int, where: str, ids: Sequence[int]) -> list[ConversationRow]:
    """Conversations whose `where` column ("author_id" or "id") is in `ids`, oldest activity first;
    for authors only the ones not resolved.

    The organisation is checked on the rows, not in SQL: with `organization_id = …` in the WHERE
    clause SQLite walks the organisation's whole inbox index instead of the author index.
    """
    names = ConversationRow.__slots__
    org_pos = names.index("organization_id")
    out: list[ConversationRow] = []
    for chunk in chunked(ids):
        cond = in_clause(where, chunk)
        params: list[object] = list(chunk)
        if where == "author_id":
            cond += " AND status <> %s"
            params.append(Status.RESOLVED)
        for values in fetch_values(Conversation, names, cond, params):
            if values[org_pos] != org_id:
                continue
            row = ConversationRow()
            for name, value in zip(names, values, strict=True):
                setattr(row, name, value)
            out.append(row)
    out.sort(key=lambda r: r.last_message_at)
    return out


@dataclass(slots=True)
class NewConversation:
    """A conversation born in this batch: a plain object (model instances cost more than the insert).

    It has the attributes `_fold` updates, and becomes one row of a single INSERT; columns not
    listed take the model's defaults.
    """

    organization_id: int
    brand_id: int
    network: str
    author_id: int
    status: str
    resolved_at: datetime | None
    first_message_at: datetime
    last_message_at: datetime
    search_text: str
    pk: int = 0
    message_count: int = 0
    preview: str = ""
    sentiment: str = ""
    sentiment_score: float = 0.0
    intent: str = ""
    topic: str = ""
    urgency: int = 0
    last_inbound_at: datetime | None = None
    first_response_at: datetime | None = None
    updated_at: datetime | None = None
    # set by routing (workflow.route_planned) before the row is written
    priority: int = Priority.NORMAL
    team_id: int | None = None
    sla_policy_id: int | None = None
    assignee_id: int | None = None
    requires_approval: bool = False
    is_spam: bool = False
    routing_log: list[dict[str, object]] = field(default_factory=list)
    sla_due_at: datetime | None = None
    lang: str = ""  # of the first inbound message (a routing fact; not a column)

    def row(self, now: datetime) -> dict[str, object]:
        return {
            "id": self.pk,
            "organization_id": self.organization_id,
            "brand_id": self.brand_id,
            "network": self.network,
            "author_id": self.author_id,
            "status": self.status,
            "resolved_at": self.resolved_at,
            "first_message_at": self.first_message_at,
            "last_message_at": self.last_message_at,
            "search_text": self.search_text,
            "message_count": self.message_count,
            "preview": self.preview,
            "sentiment": self.sentiment,
            "sentiment_score": self.sentiment_score,
            "intent": self.intent,
            "topic": self.topic,
            "urgency": self.urgency,
            "last_inbound_at": self.last_inbound_at,
            "first_response_at": self.first_response_at,
            "priority": self.priority,
            "team_id": self.team_id,
            "sla_policy_id": self.sla_policy_id,
            "assignee_id": self.assignee_id,
            "requires_approval": self.requires_approval,
            "is_spam": self.is_spam,
            "routing_log": self.routing_log,
            "sla_due_at": self.sla_due_at,
            "created_at": now,
            "updated_at": now,
        }


def _fold(conv: ConversationRow | NewConversation, ev: InboundEvent, a: Analysis | None) -> None:
    """Fold one message into its conversation's summary fields (order-independent where it matters)."""
    conv.message_count += 1
    if ev.created_at < conv.first_message_at:
        conv.first_message_at = ev.created_at
    if ev.created_at >= conv.last_message_at:
        conv.last_message_at = ev.created_at
    if ev.direction == Direction.IN:
        if conv.last_inbound_at is None or ev.created_at >= conv.last_inbound_at:
            conv.last_inbound_at = ev.created_at
            conv.preview = ev.text[:280]
            if a is not None:
                conv.sentiment = a.sentiment
                conv.sentiment_score = a.sentiment_score
                conv.intent = a.intent
                conv.topic = a.topic[:60]
        if a is not None:
            conv.urgency = max(conv.urgency, a.urgency)
        if conv.status == Status.RESOLVED and conv.resolved_at and ev.created_at > conv.resolved_at:
            conv.status = Status.OPEN  # the customer wrote again: reopen
            conv.resolved_at = None
        snippet = ev.text[:300].lower()
        if snippet not in conv.search_text:
            conv.search_text = (conv.search_text + " " + snippet)[:SEARCH_TEXT_LIMIT]
    else:
        if not conv.preview:
            conv.preview = ev.text[:280]
        first_in = conv.first_message_at
        if ev.created_at >= first_in and (conv.first_response_at is None or ev.created_at < conv.first_response_at):
            if conv.last_inbound_at is not None:
                conv.first_response_at = ev.created_at


def _analysis_json(a: Analysis | None) -> dict[str, object]:
    if a is None:
        return {}
    return {
        "confidence": {k: round(v, 3) for k, v in a.confidence.items()},
        "explanations": a.explanations,
        "urgency_reasons": a.urgency_reasons,
    }


def _existing_message_keys(org_id: int, keys: list[ProfileKey]) -> set[ProfileKey]:
    return set(rows_by_external_id(Message, org_id, keys))


def _conversation_of_messages(org_id: int, keys: set[ProfileKey]) -> dict[ProfileKey, int]:
    return {k: row[0] for k, row in rows_by_external_id(Message, org_id, keys, ["conversation_id"]).items()}


def latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
