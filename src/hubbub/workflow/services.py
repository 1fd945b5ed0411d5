"""Workflow hooks the pipeline and the inbox call: routing, SLA clocks, approval.

The foundation sets a default first-response SLA and priority from urgency; the
workflow issue adds rules, policies and business hours behind these same calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from hubbub.db import fast_update
from hubbub.inbox.models import Conversation, Priority, Reply, Status
from hubbub.tenancy.scoping import Scope

DEFAULT_FIRST_RESPONSE = timedelta(minutes=60)


def route_new_conversations(org_id: int, conversation_ids: Sequence[int]) -> None:
    """Give new customer conversations a priority and a first-response due time."""
    convs = list(
        Conversation.objects.filter(id__in=list(conversation_ids), status=Status.OPEN).only(
            "id", "urgency", "first_message_at", "priority", "sla_due_at", "first_response_at"
        )
    )
    for conv in convs:
        conv.priority = (
            Priority.URGENT if conv.urgency >= 80 else Priority.HIGH if conv.urgency >= 60 else Priority.NORMAL
        )
        conv.sla_due_at = None if conv.first_response_at else conv.first_message_at + DEFAULT_FIRST_RESPONSE
    fast_update(convs, ["priority", "sla_due_at"])


def on_status_changed(conv: Conversation, old_status: str) -> None:
    if conv.status == Status.RESOLVED:
        conv.sla_due_at = None
        conv.save(update_fields=["sla_due_at"])


def on_reply_sent(conv: Conversation) -> None:
    """The first response stops the first-response clock."""
    if conv.sla_due_at is not None:
        conv.sla_due_at = None
        conv.save(update_fields=["sla_due_at"])


def reply_needs_approval(scope: Scope, reply: Reply) -> list[str]:
    """Reasons this reply must be approved before sending (empty: send now)."""
    return []
