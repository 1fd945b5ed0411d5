"""Out-of-order delivery: replies stored before their parent, and joining them once it arrives.

While a batch is planned (`threading.plan_threads`), `OutOfOrder` finds the stored and earlier
replies a message of the batch is the parent of and decides which conversations are one thread;
after the batch is written, `repair_after_write` merges and refolds them (`merging.py`). Parallel
PostgreSQL workers can miss each other's uncommitted rows: `recheck_after_commit` schedules
`repair_waiting_replies` to join those a little later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from django.db import connection, transaction

from hubbub.analysis.types import Analysis
from hubbub.connectors.events import InboundEvent
from hubbub.db import chunked
from hubbub.inbox.conversation_rows import Conv, ConversationRow, NewConversation
from hubbub.inbox.merging import MergePair, merge_conversations, refold_conversations
from hubbub.inbox.models import Conversation, Direction, Message
from hubbub.rows import row_class, rows_by_key, rows_in
from hubbub.tenancy.models import Brand

if TYPE_CHECKING:
    from hubbub.crm.authors import AuthorRow
    from hubbub.inbox.threading import ProfileKey, ThreadPlan

MERGE_REASON = "a reply arrived before its parent"


@row_class(Message)
class WaitingReply:
    """A stored reply whose parent (`in_reply_to`) had not arrived when it was threaded."""

    pk: int
    conversation_id: int
    brand_id: int
    in_reply_to: str


def waiting_replies(org_id: int, keys: list[ProfileKey]) -> dict[ProfileKey, list[WaitingReply]]:
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
        where = f"{flag} AND organization_id = %s AND network = %s"
        for reply in rows_in(WaitingReply, "in_reply_to", ids, where, [org_id, net]):
            out.setdefault((net, reply.in_reply_to), []).append(reply)
    return out


class OutOfOrder:
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


def repair_after_write(plan: ThreadPlan) -> list[int]:
    """Out-of-order delivery, after the batch is written: merge the stored conversations the
    batch found to be one thread, recompute the summary of those a parent joined its replies in,
    and clear the flag of the replies whose parent arrived. A fixed number of queries per batch."""
    pairs = [MergePair(survivor.pk, row.pk, f"{net}:{ext}") for survivor, row, (net, ext) in plan.merges]
    merge_conversations(plan.org_id, pairs, reason=MERGE_REASON, now=plan.now)
    merged_into = {p.survivor_id for p in pairs}
    refold_conversations(plan.org_id, [c.pk for c in plan.joined if c.pk not in merged_into], plan.now)
    for chunk in chunked(plan.repaired):
        Message.objects.filter(pk__in=chunk).update(awaiting_parent=False)
    return [p.absorbed_id for p in pairs]


RECHECK_DELAY_SECONDS = 30


def recheck_after_commit(org_id: int, keys: list[ProfileKey]) -> None:
    """PostgreSQL workers run batches in parallel: a reply and its parent in two concurrent batches
    each miss the other (uncommitted) row. A re-check of this batch's waiting replies, once the
    concurrent batches have committed, joins them. (SQLite runs one writer at a time: not needed.)"""
    from hubbub.inbox.tasks import recheck_waiting_replies_task  # tasks imports this module: a cycle

    transaction.on_commit(lambda: recheck_waiting_replies_task.schedule((org_id, keys), delay=RECHECK_DELAY_SECONDS))


@row_class(Message)
class _KeyedMessage:
    """A stored message by its key, as the re-check of waiting replies reads it (reply or parent)."""

    pk: int
    network: str
    external_id: str
    in_reply_to: str
    awaiting_parent: bool


def repair_waiting_replies(org_id: int, keys: Sequence[ProfileKey]) -> int:
    """Join the waiting replies among `keys` whose parent is stored by now (see `recheck_after_commit`):
    the reply's conversation and the parent's merge, the oldest with customer messages surviving.
    Returns how many replies were joined; replies of another brand than their parent stay waiting."""
    joined = 0
    with transaction.atomic():
        waiting = [r for r in rows_by_key(_KeyedMessage, org_id, keys).values() if r.awaiting_parent]
        parents = rows_by_key(_KeyedMessage, org_id, {(r.network, r.in_reply_to) for r in waiting})
        for reply in waiting:
            parent = parents.get((reply.network, reply.in_reply_to))
            if parent is None:
                continue
            # current conversations (an earlier merge in this loop may have moved either message)
            conv_of = dict(Message.objects.filter(pk__in=[reply.pk, parent.pk]).values_list("pk", "conversation_id"))
            fields = ("pk", "organization_id", "brand_id", "last_inbound_at")
            rows = {c.pk: c for c in Conversation.objects.filter(pk__in=set(conv_of.values())).only(*fields)}
            mine, theirs = rows[conv_of[reply.pk]], rows[conv_of[parent.pk]]
            if mine.brand_id != theirs.brand_id or mine.organization_id != org_id:
                continue
            if mine.pk != theirs.pk:
                survivor, absorbed = sorted((mine, theirs), key=lambda c: (c.last_inbound_at is None, c.pk))
                pair = MergePair(survivor.pk, absorbed.pk, f"{reply.network}:{reply.in_reply_to}")
                merge_conversations(org_id, [pair], reason=MERGE_REASON)
            else:
                refold_conversations(org_id, [mine.pk])
            Message.objects.filter(pk=reply.pk).update(awaiting_parent=False)
            joined += 1
    return joined
