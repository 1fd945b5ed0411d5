"""The inbox endpoints of the REST API (mounted under /api/v1/ by `hubbub.api_site`): conversations, their
messages, replies, status and assignment. They only parse, check scope and call the inbox's actions; the bodies
are the inbox's input schemas (`inbox.inputs`), which its web forms read too.

Operation ids are pinned to the ones these endpoints had when they lived in `hubbub.api.api` (ninja derives
them from the module path): clients generated from the OpenAPI spec keep working.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from ninja import Header, NinjaAPI, Query, Router, Schema, Status

from hubbub.api.auth import request_scope
from hubbub.api.schemas import ConversationOut, ConversationPage, Id, MessageOut, ReplyOut, answers
from hubbub.connectors.outbound import ReplyTooLong
from hubbub.inbox.actions.conversations import do_assign, do_change_status
from hubbub.inbox.actions.delivery import do_retry_reply
from hubbub.inbox.actions.replies import MAX_CLIENT_KEY, Origin, ReplyKeyReused, do_create_reply
from hubbub.inbox.inputs import ConversationPatch, ReplyIn
from hubbub.inbox.merging import merged_into
from hubbub.inbox.models import Conversation
from hubbub.inbox.queries import InboxFilters, filter_conversations, page
from hubbub.inbox.tasks import enqueue_delivery
from hubbub.tenancy.scoping import Scope, get_scoped_or_404

router = Router(tags=["inbox"])

_OPERATION_PREFIX = "hubbub_api_api_"  # the module these endpoints were first published from


class NotFoundOut(Schema):
    detail: str
    merged_into: int | None = None  # the conversation was merged into this one (when you may see it)


class ConversationMerged(Http404):
    def __init__(self, survivor_id: int) -> None:
        super().__init__(f"This conversation was merged into conversation {survivor_id}.")
        self.survivor_id = survivor_id


def conversation_merged_handler(api: NinjaAPI) -> Any:
    """The API's answer to `ConversationMerged` (registered on the NinjaAPI by `hubbub.api_site`): a 404
    (the resource is gone; a write is never replayed on another conversation), with the survivor's id."""

    def handler(request: HttpRequest, exc: ConversationMerged) -> Any:
        return api.create_response(request, {"detail": str(exc), "merged_into": exc.survivor_id}, status=404)

    return handler


def conversation_or_404(scope: Scope, conversation_id: int) -> Conversation:
    """The conversation in scope; one merged into a conversation the caller may see raises
    `ConversationMerged` (a 404 naming the survivor), anything else a plain 404."""
    try:
        return get_scoped_or_404(Conversation.objects.select_related("brand", "author"), scope, id=conversation_id)
    except Http404:
        survivor_id = merged_into(scope, conversation_id)
        if survivor_id is None:
            raise  # never merged, or merged into a conversation outside the scope: a plain 404
        raise ConversationMerged(survivor_id) from None


def _conv_out(c: Conversation) -> dict[str, Any]:
    return {
        "id": c.pk,
        "brand_id": c.brand_id,
        "brand": c.brand.name,
        "network": c.network,
        "author": c.author.handle,
        "status": c.status,
        "priority": c.priority,
        "assignee_id": c.assignee_id,
        "team_id": c.team_id,
        "preview": c.preview,
        "sentiment": c.sentiment,
        "intent": c.intent,
        "topic": c.topic,
        "urgency": c.urgency,
        "message_count": c.message_count,
        "first_message_at": c.first_message_at,
        "last_message_at": c.last_message_at,
        "first_response_at": c.first_response_at,
        "sla_due_at": c.sla_due_at,
    }


@router.get("/conversations", response=answers(ConversationPage), operation_id=f"{_OPERATION_PREFIX}list_conversations")
def list_conversations(
    request: HttpRequest,
    status: str | None = None,
    brand: Id | None = None,
    sentiment: str | None = None,
    assignee: str | None = None,
    team: Id | None = None,
    network: str | None = None,
    lang: str | None = None,
    q: str = "",
    sort: str = "newest",
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),  # type: ignore[type-arg]
) -> dict[str, Any]:
    """Conversations in the caller's organisation and brands, newest first (or `sort=urgent|sla`)."""
    scope = request_scope(request)
    params = {
        "status": status or "",
        "brand": brand,
        "sentiment": sentiment,
        "assignee": assignee,
        "team": team,
        "network": network,
        "lang": lang,
        "q": q,
        "sort": sort,
    }
    f = InboxFilters.from_params(params, default_status=None)
    rows, nxt = page(filter_conversations(scope, f), f.sort, cursor, limit)
    return {"items": [_conv_out(c) for c in rows], "next_cursor": nxt}


@router.get(
    "/conversations/{conversation_id}",
    response=answers(ConversationOut, e404=NotFoundOut),
    operation_id=f"{_OPERATION_PREFIX}get_conversation",
)
def get_conversation(request: HttpRequest, conversation_id: Id) -> Any:
    return _conv_out(conversation_or_404(request_scope(request), conversation_id))


@router.get(
    "/conversations/{conversation_id}/messages",
    response=answers(list[MessageOut], e404=NotFoundOut),
    operation_id=f"{_OPERATION_PREFIX}list_messages",
)
def list_messages(request: HttpRequest, conversation_id: Id) -> Any:
    conv = conversation_or_404(request_scope(request), conversation_id)
    return [
        {
            **{f: getattr(m, f) for f in MessageOut.model_fields if f != "author"},
            "author": m.author.handle if m.author else None,
        }
        for m in conv.messages.select_related("author").order_by("created_at", "id")
    ]


IDEMPOTENCY_KEY = Header(
    None,
    alias="Idempotency-Key",
    min_length=1,
    max_length=MAX_CLIENT_KEY - len("api:"),
    description="Send the same key when you retry: the reply it created is returned, never a second one. "
    "The same key with another text or conversation is a 422.",
)


@router.post(
    "/conversations/{conversation_id}/replies",
    response=answers({201: ReplyOut}, e404=NotFoundOut),
    operation_id=f"{_OPERATION_PREFIX}post_reply",
)
def post_reply(
    request: HttpRequest,
    conversation_id: Id,
    body: ReplyIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> Any:
    """Reply on a conversation (held for approval when a policy says so). A retried request carrying the same
    `Idempotency-Key` answers with the reply the first one created (201), and the customer gets it once."""
    scope = request_scope(request)
    conv = conversation_or_404(scope, conversation_id)
    key = f"api:{idempotency_key}" if idempotency_key else ""
    try:
        reply = do_create_reply(scope, conv, body.text, Origin.API, client_key=key)
    except ReplyKeyReused as exc:
        return Status(422, {"detail": str(exc)})
    except ReplyTooLong as exc:
        return Status(400, {"detail": str(exc)})
    reply.refresh_from_db()
    return Status(201, reply)


@router.patch(
    "/conversations/{conversation_id}",
    response=answers(ConversationOut, e404=NotFoundOut),
    operation_id=f"{_OPERATION_PREFIX}patch_conversation",
)
def patch_conversation(request: HttpRequest, conversation_id: Id, body: ConversationPatch) -> Any:
    scope = request_scope(request)
    conv = conversation_or_404(scope, conversation_id)
    if body.status:
        do_change_status(scope, conv, body.status)
    if body.assignee_id is not None or body.team_id is not None or body.unassign:
        do_assign(scope, conv, None if body.unassign else body.assignee_id, body.team_id)
    conv.refresh_from_db()
    return _conv_out(conv)


@router.post(
    "/conversations/{conversation_id}/replies/{reply_id}/retry",
    response=answers(ReplyOut, 409, e404=NotFoundOut),
    operation_id=f"{_OPERATION_PREFIX}retry_reply",
)
def retry_reply(request: HttpRequest, conversation_id: Id, reply_id: Id) -> Any:
    """Send a failed reply again (after the network refused it for good, e.g. a post deleted meanwhile): 409
    when the reply is not failed. Any attempt after the first asks the network first, so it is posted once."""
    scope = request_scope(request)
    conv = conversation_or_404(scope, conversation_id)
    reply = conv.replies.filter(pk=reply_id).first()
    if reply is None:
        return Status(404, {"detail": "Not found: no such reply on this conversation."})
    try:
        reply = do_retry_reply(scope, reply, enqueue_delivery)
    except ValueError as exc:
        return Status(409, {"detail": str(exc)})
    return reply
