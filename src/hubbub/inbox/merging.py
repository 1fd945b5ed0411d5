"""Merging conversations of one brand into one: the writes, the audit entries and the live events.

Threading calls this when a parent message arrives after its replies (out-of-order delivery) and
the replies and the parent had been threaded into different conversations. The rule:

- the *survivor* (chosen by the caller; threading keeps the oldest conversation that holds customer
  messages) keeps its id, author, brand and creation time; the *absorbed* one is deleted after
  everything pointing at it (messages, replies, notes, tags, SLA clocks and their history,
  incident and issue links, …) has been moved onto the survivor;
- assignment: the survivor's assignee, team and SLA policy stay when it has them, else the absorbed
  one's; the higher priority; approval required if either required it; spam only if both were;
- status: the most active one (open > pending > resolved), so nothing a customer waits on leaves
  the open inbox;
- summary (counts, first/last/inbound times, preview and labels of the latest customer message,
  urgency, first response) is recomputed from the merged messages;
- SLA clocks: one live clock per metric, the one started first (the customer has waited since
  then); the others are cancelled. Paused clocks resume when the merged conversation is open, a
  first-response clock stops at the first response the merged conversation already holds, and
  `sla_due_at` is re-mirrored;
- audit `conversation.merged` on the survivor (with the absorbed id), a routing-log line on the
  survivor, and after commit a live `conversation` event for both ids (`merged_into` on the
  absorbed one, so a browser showing it moves to the survivor);
- the CRM's record of notes already logged for a conversation (`crm.SyncedActivity`, which names it
  by id, not by foreign key) moves to the survivor too (`crm.sync.move_synced_conversations`), so a
  later sync neither points at a deleted conversation nor logs the merged one a second time;
- a `ConversationAlias` (absorbed id → survivor), so links to the absorbed conversation still lead
  somewhere (`merged_into`); the survivor's own aliases move with its other rows when it is itself
  absorbed later, so every alias names the current survivor.

Everything works on whole lists, in a fixed number of queries, so an ingest batch that repairs
hundreds of out-of-order threads (a backfill delivered newest first) stays a batch operation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import Substr
from django.utils import timezone

from hubbub import live
from hubbub.db import chunked, fast_update, in_clause
from hubbub.inbox.conversation_rows import SEARCH_TEXT_LIMIT
from hubbub.inbox.models import Conversation, ConversationAlias, Direction, Message, Status
from hubbub.inbox.signals import conversations_merged, conversations_merging, conversations_refolded
from hubbub.tenancy.models import AuditEvent
from hubbub.tenancy.scoping import Scope, scoped
from hubbub.tenancy.services import audit_entry

MERGED_VERB = "conversation.merged"
_STATUS_RANK: dict[str, int] = {Status.RESOLVED: 0, Status.PENDING: 1, Status.OPEN: 2}
_COMBINED = (
    "assignee_id",
    "team_id",
    "sla_policy_id",
    "priority",
    "requires_approval",
    "is_spam",
    "status",
    "resolved_at",
    "search_text",
    "routing_log",
    "updated_at",
)
_SUMMARY = (
    "message_count",
    "first_message_at",
    "last_message_at",
    "last_inbound_at",
    "urgency",
    "preview",
    "sentiment",
    "sentiment_score",
    "intent",
    "topic",
    "first_response_at",
    "updated_at",
)


class MergePair(NamedTuple):
    survivor_id: int
    absorbed_id: int
    parent: str = ""  # "network:external id" of the message whose late arrival joined them


def merge_conversations(
    org_id: int, pairs: Sequence[MergePair], *, reason: str, actor: Any = None, now: datetime | None = None
) -> None:
    """Move everything of each pair's absorbed conversation onto its survivor and delete it.

    Every conversation must belong to organisation `org_id` and each pair to one brand
    (ValueError otherwise): a merge never crosses organisations or brands. A survivor may absorb
    several conversations; it may not itself be absorbed in the same call. Runs in the caller's
    transaction, or its own.
    """
    if not pairs:
        return
    now = now or timezone.now()
    group: dict[int, list[int]] = {}
    for p in pairs:
        group.setdefault(p.survivor_id, []).append(p.absorbed_id)
    absorbed_ids = [p.absorbed_id for p in pairs]
    if len(set(absorbed_ids)) != len(absorbed_ids) or set(absorbed_ids) & set(group):
        raise ValueError("each conversation is absorbed once, and never by itself or into an absorbed one")
    with transaction.atomic():
        convs = _load(Conversation.objects.select_for_update(), [*group, *absorbed_ids])
        for p in pairs:
            s, a = convs.get(p.survivor_id), convs.get(p.absorbed_id)
            if s is None or a is None:
                raise ValueError(f"conversation #{p.survivor_id if s is None else p.absorbed_id} does not exist")
            if s.organization_id != org_id or a.organization_id != org_id:
                raise ValueError("conversations of another organisation are never merged")
            if s.brand_id != a.brand_id:
                raise ValueError("conversations of different brands are never merged")
        was_pending = {s for s, absorbed in group.items() if _any_pending(convs, [s, *absorbed])}
        conversations_merging.send(sender=Conversation, organization_id=org_id, groups=group, now=now)
        into = {p.absorbed_id: p.survivor_id for p in pairs}
        moved = _move_related(into, absorbed_ids)
        stamp = now.isoformat()
        for p in pairs:
            survivor, absorbed = convs[p.survivor_id], convs[p.absorbed_id]
            _combine(survivor, absorbed)
            survivor.routing_log = [
                *(survivor.routing_log or []),
                *(absorbed.routing_log or []),
                {"at": stamp, "rule_id": None, "text": f"merged conversation #{absorbed.pk} into this one: {reason}"},
            ]
            survivor.updated_at = now
        survivors = [convs[s] for s in group]
        fast_update(survivors, _COMBINED)
        for chunk in chunked(absorbed_ids):
            Conversation.objects.filter(pk__in=chunk).delete()  # nothing points at them any more
        resume = [c.pk for c in survivors if c.status == Status.OPEN and c.pk in was_pending]
        conversations_merged.send(sender=Conversation, organization_id=org_id, into=into, resume=resume, now=now)
        refold_conversations(org_id, list(group), now)
        # aliases naming an absorbed conversation were re-pointed at its survivor by _move_related
        ConversationAlias.objects.bulk_create(
            [
                ConversationAlias(
                    organization_id=org_id, old_id=p.absorbed_id, conversation_id=p.survivor_id, created_at=now
                )
                for p in pairs
            ]
        )
        AuditEvent.objects.bulk_create(
            [
                audit_entry(
                    org_id,
                    MERGED_VERB,
                    "conversation",
                    p.survivor_id,
                    brand_id=convs[p.survivor_id].brand_id,
                    actor_id=actor.pk if actor is not None and actor.is_authenticated else None,
                    absorbed=p.absorbed_id,
                    reason=reason,
                    messages=moved.get(p.absorbed_id, 0),
                    **({"parent": p.parent} if p.parent else {}),
                )
                for p in pairs
            ]
        )
        published = [(p.survivor_id, p.absorbed_id) for p in pairs]
        transaction.on_commit(lambda: _publish(org_id, published))


def merged_into(scope: Scope, conversation_id: int) -> int | None:
    """The conversation that `conversation_id` was merged into (the current survivor, whatever the
    chain), or None: never merged, or the survivor is outside the scope (organisation and brands),
    so nothing is revealed about ids the user may not see. One indexed lookup."""
    aliases = scoped(ConversationAlias.objects.filter(old_id=conversation_id), scope, "conversation__brand_id")
    return aliases.values_list("conversation_id", flat=True).first()


def merged_into_many(scope: Scope, conversation_ids: Iterable[int]) -> dict[int, int]:
    """`merged_into` for a list of ids (a bulk action): old id → current survivor, for the merged ones
    whose survivor is in the scope. One query per `db.SQL_CHUNK` ids."""
    out: dict[int, int] = {}
    for chunk in chunked(list(dict.fromkeys(conversation_ids))):
        aliases = scoped(ConversationAlias.objects.filter(old_id__in=chunk), scope, "conversation__brand_id")
        out.update(aliases.values_list("old_id", "conversation_id"))
    return out


def refold_conversations(org_id: int, conversation_ids: Iterable[int], now: datetime | None = None) -> None:
    """Recompute the summary of conversations from their messages (folding in arrival order is not
    order-independent for every field, e.g. the first response), stop the first-response clocks
    of those that turn out answered, and re-mirror their SLA due time. One pass for the list."""
    ids = list(dict.fromkeys(conversation_ids))
    if not ids:
        return
    now = now or timezone.now()
    loaded = _load(Conversation.objects.only("pk", "organization_id", *_SUMMARY), ids)
    convs = {pk: c for pk, c in loaded.items() if c.organization_id == org_id}
    answered_before = {pk for pk, c in convs.items() if c.first_response_at is not None}
    summaries: dict[int, _Summary] = {}
    for chunk in chunked(list(convs)):
        rows = (
            Message.objects.filter(conversation_id__in=chunk)
            .annotate(head=Substr("text", 1, 280))
            .order_by("conversation_id", "created_at", "id")
            .values_list(
                "conversation_id",
                "direction",
                "created_at",
                "head",
                "sentiment",
                "sentiment_score",
                "intent",
                "topic",
                "urgency",
                "model_version",
            )
        )
        for row in rows:
            summary = summaries.get(row[0])
            if summary is None:
                summary = summaries[row[0]] = _Summary(row[2], row[3])
            summary.add(*row[1:])
    for pk, conv in convs.items():
        summary = summaries.get(pk)
        if summary is not None:
            summary.apply(conv)
        conv.updated_at = now
    fast_update(list(convs.values()), _SUMMARY)
    answered: dict[int, datetime] = {}
    for pk, c in convs.items():
        if c.first_response_at is not None and pk not in answered_before:
            answered[pk] = c.first_response_at
    conversations_refolded.send(
        sender=Conversation, organization_id=org_id, conversation_ids=list(convs), answered=answered, now=now
    )


class _Summary:
    """The folded fields of one conversation, from its messages in time order."""

    __slots__ = ("count", "first", "last", "first_text", "first_in", "last_in", "latest", "urgency", "outbound")

    def __init__(self, first: datetime, first_text: str) -> None:
        self.count = 0
        self.first = self.last = first
        self.first_text = first_text
        self.first_in: datetime | None = None
        self.last_in: datetime | None = None
        self.latest: tuple[Any, ...] | None = None  # text and labels of the latest analysed inbound message
        self.urgency = 0
        self.outbound: list[datetime] = []

    def add(self, direction: str, created: datetime, text: str, *labels: Any) -> None:
        self.count += 1
        self.last = created
        if direction == Direction.IN:
            if self.first_in is None:
                self.first_in = created
            self.last_in = created
            self.latest = (text, *labels)
            self.urgency = max(self.urgency, labels[4] or 0)
        else:
            self.outbound.append(created)

    def apply(self, conv: Conversation) -> None:
        conv.message_count = self.count
        conv.first_message_at, conv.last_message_at = self.first, self.last
        conv.last_inbound_at = self.last_in
        conv.urgency = self.urgency
        if self.latest is None:
            conv.preview = self.first_text
        else:
            text, sentiment, score, intent, topic, _urgency, model_version = self.latest
            conv.preview = text
            if model_version:  # analysed (messages stored without analysis keep the folded labels)
                conv.sentiment, conv.sentiment_score, conv.intent, conv.topic = sentiment, score, intent, topic
        first_in = self.first_in
        conv.first_response_at = min((t for t in self.outbound if t >= first_in), default=None) if first_in else None


def _load(qs: Any, ids: Sequence[int]) -> dict[int, Conversation]:
    out: dict[int, Conversation] = {}
    for chunk in chunked(list(dict.fromkeys(ids))):
        out.update((c.pk, c) for c in qs.filter(pk__in=chunk))
    return out


def _any_pending(convs: dict[int, Conversation], ids: list[int]) -> bool:
    return any(convs[i].status == Status.PENDING for i in ids)


def _publish(org_id: int, pairs: list[tuple[int, int]]) -> None:
    merged: dict[int, list[int]] = {}
    for survivor_id, absorbed_id in pairs:
        merged.setdefault(survivor_id, []).append(absorbed_id)
        live.publish("conversation", org_id, conversation_id=absorbed_id, merged_into=survivor_id)
    for survivor_id, absorbed in merged.items():
        live.publish("conversation", org_id, conversation_id=survivor_id, merged=absorbed)


def _move_related(into: dict[int, int], absorbed_ids: list[int]) -> dict[int, int]:
    """Re-point every row referring to an absorbed conversation at its survivor (relations found
    through the model meta, so links other apps add later move too); rows that would collide with
    one the survivor already has (a tag, an incident link, a composer presence) are dropped.
    Returns how many messages each absorbed conversation handed over."""
    moved: dict[int, int] = {}
    for chunk in chunked(absorbed_ids):
        counts = Message.objects.filter(conversation_id__in=chunk).values("conversation_id").annotate(n=Count("id"))
        moved.update((row["conversation_id"], row["n"]) for row in counts)
    for rel in Conversation._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
            continue
        model: Any = rel.related_model
        fk: Any = rel.field  # type: ignore[union-attr]
        rows = model._base_manager
        for unique in _unique_sets(model, fk):
            _drop_collisions(rows, fk, [name for name in unique if name != fk.name], into)
        _repoint(model._meta.db_table, fk.column, into, absorbed_ids)
    return moved


def _repoint(table: str, column: str, into: dict[int, int], absorbed_ids: list[int]) -> None:
    """`UPDATE table SET column = <survivor> WHERE column IN (<absorbed>)`, one statement per 300
    conversations (raw SQL: an ORM Case/When per conversation cost more than the update)."""
    qn = connection.ops.quote_name
    col = qn(column)
    with connection.cursor() as cursor:
        for chunk in chunked(absorbed_ids, 300):
            cases = " ".join(["WHEN %s THEN %s"] * len(chunk))
            params: list[int] = [v for a in chunk for v in (a, into[a])]
            cursor.execute(
                f"UPDATE {qn(table)} SET {col} = CASE {col} {cases} END WHERE {in_clause(column, chunk)}",
                [*params, *chunk],
            )


def _drop_collisions(rows: Any, fk: Any, others: list[str], into: dict[int, int]) -> None:
    """Delete the absorbed conversations' rows whose unique key (with the survivor in place of the
    absorbed conversation) another row already has; the survivor's own rows are kept first."""
    absorbed = list(into)
    mine: list[tuple[Any, ...]] = []
    for chunk in chunked(absorbed):
        mine += rows.filter(**{f"{fk.attname}__in": chunk}).values_list("pk", fk.attname, *others)
    if not mine:
        return
    taken: set[tuple[Any, ...]] = set()
    for chunk in chunked(sorted(set(into.values()))):
        taken.update(
            (conv, *key)
            for _, conv, *key in rows.filter(**{f"{fk.attname}__in": chunk}).values_list("pk", fk.attname, *others)
        )
    drop = []
    for pk, conv, *key in sorted(mine):
        target = (into[conv], *key)
        if target in taken:
            drop.append(pk)
        else:
            taken.add(target)
    for chunk in chunked(drop):
        rows.filter(pk__in=chunk).delete()


def _unique_sets(model: Any, fk: Any) -> list[tuple[str, ...]]:
    """The unique keys of `model` that include the foreign key `fk`."""
    sets = [tuple(u) for u in model._meta.unique_together]
    sets += [tuple(c.fields) for c in model._meta.total_unique_constraints]
    if fk.unique:
        sets.append((fk.name,))
    return [s for s in sets if fk.name in s]


def _combine(survivor: Conversation, absorbed: Conversation) -> None:
    """Assignment and status of the merged conversation (see the module docstring)."""
    survivor.assignee_id = survivor.assignee_id or absorbed.assignee_id
    survivor.team_id = survivor.team_id or absorbed.team_id
    survivor.sla_policy_id = survivor.sla_policy_id or absorbed.sla_policy_id
    survivor.priority = max(survivor.priority, absorbed.priority)
    survivor.requires_approval = survivor.requires_approval or absorbed.requires_approval
    survivor.is_spam = survivor.is_spam and absorbed.is_spam
    if _STATUS_RANK.get(absorbed.status, 0) > _STATUS_RANK.get(survivor.status, 0):
        survivor.status = absorbed.status
    if survivor.status == Status.RESOLVED:
        survivor.resolved_at = max((t for t in (survivor.resolved_at, absorbed.resolved_at) if t), default=None)
    else:
        survivor.resolved_at = None
    if absorbed.search_text not in survivor.search_text:
        survivor.search_text = f"{survivor.search_text} {absorbed.search_text}"[:SEARCH_TEXT_LIMIT]
