"""The conversations threading works on, in memory: stored ones read as plain rows, new ones as plain
objects, and the fold of one message into either's summary fields (`threading.py` decides which)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeAlias

from hubbub.analysis.types import Analysis
from hubbub.connectors.events import InboundEvent
from hubbub.inbox.models import Conversation, Direction, Priority, Status
from hubbub.rows import row_class, rows_in

SEARCH_TEXT_LIMIT = 2000


FOLDED_FIELDS = (
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


@row_class(Conversation)
class ConversationRow:
    """A stored conversation as threading needs it: the folded summary fields, read with raw SQL
    (`db.fetch_values`; a `Model.__init__` per returning customer cost more than the update) and
    written back with `db.fast_update`."""

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


def load_rows(org_id: int, where: str, ids: Sequence[int]) -> list[ConversationRow]:
    """Conversations whose `where` column ("author_id" or "id") is in `ids`, oldest activity first;
    for authors only the ones not resolved.

    The organisation is checked on the rows, not in SQL: with `organization_id = …` in the WHERE
    clause SQLite walks the organisation's whole inbox index instead of the author index.
    """
    if where == "author_id":
        found = rows_in(ConversationRow, where, ids, "status <> %s", [Status.RESOLVED])
    else:
        found = rows_in(ConversationRow, where, ids)
    out = [row for row in found if row.organization_id == org_id]
    out.sort(key=lambda r: r.last_message_at)
    return out


@dataclass(slots=True)
class NewConversation:
    """A conversation born in this batch: a plain object (model instances cost more than the insert).

    It has the attributes `fold_message` updates, and becomes one row of a single INSERT; columns not
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


def fold_message(conv: ConversationRow | NewConversation, ev: InboundEvent, a: Analysis | None) -> None:
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


Conv: TypeAlias = ConversationRow | NewConversation
