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

Here: planning a batch and writing it. `conversation_rows.py` holds the in-memory conversations
and the fold of a message into them; `out_of_order.py` the waiting replies and their repair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from django.db import connection
from django.utils import timezone

from hubbub.analysis.types import Analysis
from hubbub.connectors.events import InboundEvent
from hubbub.db import fast_insert_dicts, fast_update, reserve_ids, rows_by_external_id
from hubbub.inbox.conversation_rows import FOLDED_FIELDS, ConversationRow, NewConversation, fold_message, load_rows
from hubbub.inbox.models import Conversation, Direction, Message, Status
from hubbub.inbox.out_of_order import (
    OutOfOrder,
    WaitingReply,
    recheck_after_commit,
    repair_after_write,
    waiting_replies,
)
from hubbub.tenancy.models import Brand

if TYPE_CHECKING:
    from hubbub.crm.authors import AuthorRow

ProfileKey = tuple[str, str]


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

    parent_conv, waiting, open_convs, loaded = _load_stored(org_id, todo, profiles)
    new_convs: list[NewConversation] = []
    batch_conv: dict[ProfileKey, ConversationRow | NewConversation] = {}
    assignments: list[tuple[InboundEvent, Brand, Analysis | None, ConversationRow | NewConversation]] = []
    out_of_order = OutOfOrder(plan, waiting, loaded)

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
    _fold_batch(plan, new_convs, assignments)
    return plan


class _Stored(NamedTuple):
    """What is stored about a batch's messages before they are threaded: the conversations of the
    parents they reply to, the replies waiting for them, their authors' open conversations, and
    every stored conversation these name (of this organisation), by id."""

    parent_conv: dict[ProfileKey, int]
    waiting: dict[ProfileKey, list[WaitingReply]]
    open_convs: dict[tuple[int, int], ConversationRow | NewConversation]
    loaded: dict[int, ConversationRow | NewConversation]


def _load_stored(
    org_id: int,
    todo: list[tuple[InboundEvent, Brand, Analysis | None]],
    profiles: dict[ProfileKey, AuthorRow],
) -> _Stored:
    """Read what `plan_threads` needs from the database, with a fixed number of queries per batch."""
    parent_ids = {(ev.network, ev.in_reply_to) for ev, _, _ in todo if ev.in_reply_to}
    parent_conv = _conversation_of_messages(org_id, parent_ids)
    waiting = waiting_replies(org_id, [(ev.network, ev.external_id) for ev, _, _ in todo])
    author_ids = {profiles[(ev.network, ev.author_id)].pk for ev, _, _ in todo}
    open_convs: dict[tuple[int, int], ConversationRow | NewConversation] = {}
    for existing in load_rows(org_id, "author_id", sorted(author_ids)):
        open_convs[(existing.brand_id, existing.author_id)] = existing
    loaded: dict[int, ConversationRow | NewConversation] = {c.pk: c for c in open_convs.values()}
    need = {cid for cid in parent_conv.values() if cid not in loaded}
    need.update(w.conversation_id for ws in waiting.values() for w in ws if w.conversation_id not in loaded)
    if need:
        loaded.update({c.pk: c for c in load_rows(org_id, "id", sorted(need))})
    return _Stored(parent_conv, waiting, open_convs, loaded)


def _fold_batch(
    plan: ThreadPlan,
    new_convs: list[NewConversation],
    assignments: list[tuple[InboundEvent, Brand, Analysis | None, ConversationRow | NewConversation]],
) -> None:
    """Give the new conversations their ids, then fold every message into its conversation, so new
    conversations are written once, complete; the plan keeps both."""
    if new_convs:
        for conv, pk in zip(new_convs, reserve_ids(Conversation, len(new_convs)), strict=True):
            conv.pk = pk
    for ev, _brand, a, target in assignments:
        fold_message(target, ev, a)
        target.updated_at = plan.now
        plan.touched[target.pk] = target
        if ev.lang and ev.direction == Direction.IN and isinstance(target, NewConversation) and not target.lang:
            target.lang = ev.lang.lower()  # the batch is time-ordered: the first inbound message's language
    plan.new_conversations = new_convs
    plan.assignments = assignments


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
    # by id: concurrent batches that both grow the same conversations lock their rows in the same order
    grown = sorted((c for c in plan.touched.values() if isinstance(c, ConversationRow)), key=lambda c: c.pk)
    fast_update(grown, FOLDED_FIELDS)  # type: ignore[arg-type]
    result.touched_conversation_ids = list(plan.touched)
    if plan.joined:
        result.merged_conversation_ids = repair_after_write(plan)
    if awaiting and connection.vendor != "sqlite":
        recheck_after_commit(org_id, sorted(awaiting))
    return result


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
