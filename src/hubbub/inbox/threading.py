"""Threading: which conversation does each incoming message belong to?

Rules, in order:
1. a reply (`in_reply_to`) joins its parent's conversation, wherever it is (same brand);
2. a customer's mention joins that customer's open (or pending) conversation with the brand;
3. otherwise it starts a new conversation.
A brand's own message whose parent is unknown starts a resolved conversation of the
brand account, so it is stored (never lost) without cluttering the open inbox.

Out-of-order delivery: a reply whose parent is not stored yet is threaded by rules 2–3 and
stored with `awaiting_parent`. A message of a later batch (or later in the same batch) that
such replies wait for joins their conversation; when it also belongs to another conversation
(its own parent's, its author's open one), the conversations are merged (`merging.py`): the
oldest conversation with customer messages survives. A customer's message whose waiting
replies are only brand messages starts (or joins) the customer's conversation as in order,
and absorbs the brand-only one. One indexed query per batch finds the waiting replies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, TypeAlias

from django.db import connection, transaction
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
MERGE_REASON = "a reply arrived before its parent"


@dataclass
class ThreadResult:
    message_count: int = 0
    new_conversation_ids: list[int] = field(default_factory=list)
    touched_conversation_ids: list[int] = field(default_factory=list)
    merged_conversation_ids: list[int] = field(default_factory=list)  # absorbed (deleted) by a merge


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
    # out-of-order delivery: batch messages whose parent is still unknown (stored flagged), stored
    # messages whose parent arrived now (flag cleared), stored conversations to merge (survivor,
    # absorbed, parent key), conversations a parent joined its replies in (summary recomputed)
    awaiting: set[ProfileKey] = field(default_factory=set)
    repaired: list[int] = field(default_factory=list)
    merges: list[tuple[ConversationRow | NewConversation, ConversationRow, ProfileKey]] = field(default_factory=list)
    joined: list[ConversationRow | NewConversation] = field(default_factory=list)


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
    waiting = _waiting_replies(org_id, [(ev.network, ev.external_id) for ev, _, _ in todo])
    author_ids = {profiles[(ev.network, ev.author_id)].pk for ev, _, _ in todo}
    open_convs: dict[tuple[int, int], ConversationRow | NewConversation] = {}
    for existing in _load_rows(org_id, "author_id", sorted(author_ids)):
        open_convs[(existing.brand_id, existing.author_id)] = existing
    loaded: dict[int, ConversationRow | NewConversation] = {c.pk: c for c in open_convs.values()}
    need = {cid for cid in parent_conv.values() if cid not in loaded}
    need.update(w.conversation_id for ws in waiting.values() for w in ws if w.conversation_id not in loaded)
    if need:
        loaded.update({c.pk: c for c in _load_rows(org_id, "id", sorted(need))})

    new_convs: list[NewConversation] = []
    batch_conv: dict[ProfileKey, ConversationRow | NewConversation] = {}
    assignments: list[tuple[InboundEvent, Brand, Analysis | None, ConversationRow | NewConversation]] = []
    out_of_order = _OutOfOrder(plan, waiting, loaded)

    def start(ev: InboundEvent, brand: Brand, author: AuthorRow) -> NewConversation:
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
        return conv

    for ev, brand, analysis in todo:
        author = profiles[(ev.network, ev.author_id)]
        key = (ev.network, ev.external_id)
        conv: ConversationRow | NewConversation | None = None
        parent_key: ProfileKey | None = None
        if ev.in_reply_to:
            parent = (ev.network, ev.in_reply_to)
            conv = batch_conv.get(parent)
            if conv is None and parent in parent_conv:
                conv = loaded.get(parent_conv[parent])
            if conv is None:
                parent_key = parent  # not stored yet: remembered on the message
            elif conv.brand_id != brand.pk:
                conv = None  # never thread across brands
        if conv is None and ev.direction == Direction.IN:
            conv = open_convs.get((brand.pk, author.pk))
        if conv is not None and out_of_order.into:
            conv = out_of_order.find(conv)
        if out_of_order.waits_for(key):
            conv = out_of_order.join(ev, brand, author, conv, assignments, start)
        if conv is None:
            conv = start(ev, brand, author)
        batch_conv[key] = conv
        assignments.append((ev, brand, analysis, conv))
        if parent_key is not None:
            out_of_order.remember(key, parent_key, conv)

    if out_of_order.into:
        find = out_of_order.find
        assignments = [(ev, brand, a, find(conv)) for ev, brand, a, conv in assignments]
        new_convs = [c for c in new_convs if id(c) not in out_of_order.into]
        plan.merges = [(find(row), row, key) for row, key in out_of_order.stored]
    plan.joined = [out_of_order.find(c) for c in out_of_order.joined]
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
    awaiting = plan.awaiting
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
            "awaiting_parent": bool(awaiting) and (ev.network, ev.external_id) in awaiting,
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
    if plan.joined:
        result.merged_conversation_ids = _repair(plan)
    if awaiting and connection.vendor != "sqlite":
        _recheck_after_commit(org_id, sorted(awaiting))
    return result


def _repair(plan: ThreadPlan) -> list[int]:
    """Out-of-order delivery, after the batch is written: merge the stored conversations the
    batch found to be one thread, recompute the summary of those a parent joined its replies in,
    and clear the flag of the replies whose parent arrived. A fixed number of queries per batch."""
    from hubbub.inbox.merging import MergePair, merge_conversations, refold_conversations

    pairs = [MergePair(survivor.pk, row.pk, f"{net}:{ext}") for survivor, row, (net, ext) in plan.merges]
    merge_conversations(plan.org_id, pairs, reason=MERGE_REASON, now=plan.now)
    merged_into = {p.survivor_id for p in pairs}
    refold_conversations(plan.org_id, [c.pk for c in plan.joined if c.pk not in merged_into], plan.now)
    for chunk in chunked(plan.repaired):
        Message.objects.filter(pk__in=chunk).update(awaiting_parent=False)
    return [p.absorbed_id for p in pairs]


RECHECK_DELAY_SECONDS = 30


def _recheck_after_commit(org_id: int, keys: list[ProfileKey]) -> None:
    """PostgreSQL workers run batches in parallel: a reply and its parent in two concurrent batches
    each miss the other (uncommitted) row. A re-check of this batch's waiting replies, once the
    concurrent batches have committed, joins them. (SQLite runs one writer at a time: not needed.)"""
    from hubbub.inbox.tasks import recheck_waiting_replies_task

    transaction.on_commit(lambda: recheck_waiting_replies_task.schedule((org_id, keys), delay=RECHECK_DELAY_SECONDS))


def repair_waiting_replies(org_id: int, keys: Sequence[ProfileKey]) -> int:
    """Join the waiting replies among `keys` whose parent is stored by now (see `_recheck_after_commit`):
    the reply's conversation and the parent's merge, the oldest with customer messages surviving.
    Returns how many replies were joined; replies of another brand than their parent stay waiting."""
    from hubbub.inbox.merging import MergePair, merge_conversations, refold_conversations

    joined = 0
    with transaction.atomic():
        columns = ["id", "in_reply_to", "awaiting_parent"]
        waiting = {k: r for k, r in rows_by_external_id(Message, org_id, keys, columns).items() if r[2]}
        parents = rows_by_external_id(Message, org_id, {(net, r[1]) for (net, _), r in waiting.items()}, ["id"])
        for (network, _), (pk, parent_ext, _) in waiting.items():
            parent = parents.get((network, parent_ext))
            if parent is None:
                continue
            # current conversations (an earlier merge in this loop may have moved either message)
            conv_of = dict(Message.objects.filter(pk__in=[pk, parent[0]]).values_list("pk", "conversation_id"))
            fields = ("pk", "organization_id", "brand_id", "last_inbound_at")
            rows = {c.pk: c for c in Conversation.objects.filter(pk__in=set(conv_of.values())).only(*fields)}
            mine, theirs = rows[conv_of[pk]], rows[conv_of[parent[0]]]
            if mine.brand_id != theirs.brand_id or mine.organization_id != org_id:
                continue
            if mine.pk != theirs.pk:
                survivor, absorbed = sorted((mine, theirs), key=lambda c: (c.last_inbound_at is None, c.pk))
                pair = MergePair(survivor.pk, absorbed.pk, f"{network}:{parent_ext}")
                merge_conversations(org_id, [pair], reason=MERGE_REASON)
            else:
                refold_conversations(org_id, [mine.pk])
            Message.objects.filter(pk=pk).update(awaiting_parent=False)
            joined += 1
    return joined


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


class WaitingReply(NamedTuple):
    """A stored reply whose parent had not arrived when it was threaded."""

    pk: int
    conversation_id: int
    brand_id: int


def _waiting_replies(org_id: int, keys: list[ProfileKey]) -> dict[ProfileKey, list[WaitingReply]]:
    """The stored replies waiting for one of `keys` (their parent), by parent key.

    One query per network and 900 keys on the partial index `msg_awaiting_parent`: only waiting
    replies have an entry, so the common case (nothing waits) reads an index of a few pages.
    The bare flag term lets SQLite match the partial index's WHERE clause.
    """
    by_net: dict[str, list[str]] = {}
    for net, ext in keys:
        by_net.setdefault(net, []).append(ext)
    flag = connection.ops.quote_name("awaiting_parent")
    out: dict[ProfileKey, list[WaitingReply]] = {}
    for net, ids in by_net.items():
        for chunk in chunked(ids):
            where = f"{flag} AND organization_id = %s AND network = %s AND {in_clause('in_reply_to', chunk)}"
            columns = ("in_reply_to", "pk", "conversation_id", "brand_id")
            for parent, pk, conv_id, brand_id in fetch_values(Message, columns, where, [org_id, net, *chunk]):
                out.setdefault((net, parent), []).append(WaitingReply(pk, conv_id, brand_id))
    return out


Conv: TypeAlias = ConversationRow | NewConversation


class _OutOfOrder:
    """Out-of-order delivery while one batch is planned: the replies waiting for a message of the
    batch (stored ones, and earlier ones of the batch itself), and the conversations found to be
    one thread (absorbed → survivor by object identity, a union-find: new ones have no id yet)."""

    def __init__(self, plan: ThreadPlan, waiting: dict[ProfileKey, list[WaitingReply]], loaded: dict[int, Conv]):
        self.plan = plan
        self.waiting = waiting
        self.loaded = loaded  # stored conversations of this organisation, by id
        self.early: dict[ProfileKey, list[tuple[ProfileKey, Conv]]] = {}  # parent → (reply, conversation)
        self.into: dict[int, Conv] = {}
        self.stored: list[tuple[ConversationRow, ProfileKey]] = []  # absorbed stored rows, parent key
        self.joined: list[Conv] = []  # where a parent joined its replies
        self.members: dict[int, list[Conv]] = {}  # survivor → the conversations it absorbed
        self.with_customer: set[int] = set()  # conversations given a customer message in this batch
        self.scanned = 0  # how many assignments `with_customer` covers

    def find(self, conv: Conv) -> Conv:
        while (survivor := self.into.get(id(conv))) is not None:
            conv = survivor
        return conv

    def waits_for(self, key: ProfileKey) -> bool:
        return key in self.waiting or key in self.early

    def remember(self, key: ProfileKey, parent: ProfileKey, conv: Conv) -> None:
        """A reply of this batch whose parent is unknown: stored flagged, unless the parent follows."""
        self.plan.awaiting.add(key)
        self.early.setdefault(parent, []).append((key, conv))

    def join(
        self,
        ev: InboundEvent,
        brand: Brand,
        author: AuthorRow,
        conv: Conv | None,
        assignments: list[tuple[InboundEvent, Brand, Analysis | None, Conv]],
        start: Callable[[InboundEvent, Brand, AuthorRow], NewConversation],
    ) -> Conv:
        """`ev` is the parent replies already threaded wait for: the one conversation for it and
        them, merging the candidates (`conv` found by rules 1–2, the replies' conversations).

        The survivor is the oldest conversation with customer messages (stored before new, lower
        id first); a brand-only conversation (replies to a post not yet seen) survives only if no
        candidate has customer messages. A customer's message whose replies sit only in brand-only
        conversations starts the customer's own conversation, as in order, which absorbs them.
        Replies of another brand are left waiting: threads never cross brands.
        """
        key = (ev.network, ev.external_id)
        children: list[Conv] = []
        for reply in self.waiting.get(key, ()):
            child = self.loaded.get(reply.conversation_id)  # loaded only if of this organisation
            if child is not None and reply.brand_id == brand.pk and child.brand_id == brand.pk:
                children.append(child)
                self.plan.repaired.append(reply.pk)
        for reply_key, child in self.early.pop(key, ()):
            if child.brand_id == brand.pk:
                children.append(child)
                self.plan.awaiting.discard(reply_key)
        candidates: list[Conv] = []
        for c in ([conv] if conv is not None else []) + children:
            c = self.find(c)
            if all(c is not other for other in candidates):
                candidates.append(c)
        if not candidates:
            return start(ev, brand, author)

        for e, _, _, t in assignments[self.scanned :]:
            if e.direction == Direction.IN:
                self.with_customer.add(id(t))
        self.scanned = len(assignments)

        def brand_only(c: Conv) -> bool:
            if isinstance(c, ConversationRow) and c.last_inbound_at is not None:
                return False
            return all(id(m) not in self.with_customer for m in (c, *self.members.get(id(c), ())))

        without_customer = {id(c): brand_only(c) for c in candidates}
        if conv is None and ev.direction == Direction.IN and all(without_customer.values()):
            own = start(ev, brand, author)
            candidates.append(own)
            without_customer[id(own)] = False
        order = {id(c): i for i, c in enumerate(candidates)}

        def rank(c: Conv) -> tuple[bool, bool, int]:
            is_new = isinstance(c, NewConversation)
            return (without_customer[id(c)], is_new, order[id(c)] if is_new else c.pk)

        survivor = min(candidates, key=rank)
        for c in candidates:
            if c is not survivor:
                self.into[id(c)] = survivor
                self.members.setdefault(id(survivor), []).extend([c, *self.members.pop(id(c), ())])
                if isinstance(c, ConversationRow):
                    self.stored.append((c, key))
        self.joined.append(survivor)
        return survivor


def latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
