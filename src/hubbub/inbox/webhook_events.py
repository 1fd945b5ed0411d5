"""The inbox's events for integrators' webhooks: a conversation assigned or resolved, a reply sent. The inbox
follows its own signals here and hands the event down to `api` (below it in the app tree), which sends it to
the organisation's subscribed endpoints after commit, or does nothing when none subscribed."""

from __future__ import annotations

from typing import Any

from hubbub.api.webhook_events import emit
from hubbub.inbox.models import Conversation, Reply, Status
from hubbub.inbox.signals import conversation_assigned, reply_sent, status_changed


def conversation_data(conv: Conversation) -> dict[str, Any]:
    return {
        "id": conv.pk,
        "brand_id": conv.brand_id,
        "network": conv.network,
        "status": conv.status,
        "assignee_id": conv.assignee_id,
        "team_id": conv.team_id,
        "resolved_at": conv.resolved_at.isoformat() if conv.resolved_at else None,
    }


def _status_changed(sender: Any, conversation: Conversation, old_status: str, **kwargs: Any) -> None:
    if conversation.status == Status.RESOLVED and old_status != Status.RESOLVED:
        emit(conversation.organization_id, "conversation.resolved", {"conversation": conversation_data(conversation)})


def _assigned(sender: Any, conversation: Conversation, old_assignee_id: int | None, **kwargs: Any) -> None:
    data = {"conversation": conversation_data(conversation), "previous_assignee_id": old_assignee_id}
    emit(conversation.organization_id, "conversation.assigned", data)


def _reply_sent(sender: Any, conversation: Conversation, reply: Reply, **kwargs: Any) -> None:
    data = {
        "reply": {
            "id": reply.pk,
            "conversation_id": conversation.pk,
            "text": reply.text,
            "external_id": reply.external_id,
            "sent_at": reply.sent_at.isoformat() if reply.sent_at else None,
            "author_id": reply.author_id,
            "origin": reply.origin,
        },
        "conversation": conversation_data(conversation),
    }
    emit(conversation.organization_id, "reply.sent", data)


def connect() -> None:
    status_changed.connect(_status_changed, weak=False, dispatch_uid="inbox.webhooks.status_changed")
    conversation_assigned.connect(_assigned, weak=False, dispatch_uid="inbox.webhooks.assigned")
    reply_sent.connect(_reply_sent, weak=False, dispatch_uid="inbox.webhooks.reply_sent")
