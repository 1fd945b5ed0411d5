"""The REST API (django-ninja). OpenAPI at /api/openapi.json, docs at /api/docs.

Endpoints only parse, check scope and call the same services the UI uses.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from ninja import NinjaAPI, Query, Router, Schema, Status

from hubbub.api.auth import ScopedSessionAuth, TokenAuth, request_scope
from hubbub.api.schemas import (
    ConversationOut,
    ConversationPage,
    ConversationPatch,
    ErrorOut,
    MessageOut,
    ReplyIn,
    ReplyOut,
)
from hubbub.connectors.outbound import ReplyTooLong
from hubbub.inbox.actions.conversations import do_assign, do_change_status
from hubbub.inbox.actions.replies import Origin, do_create_reply
from hubbub.inbox.merging import merged_into
from hubbub.inbox.models import Conversation
from hubbub.inbox.queries import InboxFilters, filter_conversations, page
from hubbub.tenancy.scoping import PermissionDenied, Scope, get_scoped_or_404

api = NinjaAPI(
    title="Hubbub API",
    version="1",
    description="Conversations, messages and replies of the unified inbox. Authenticate with "
    "`Authorization: Bearer <token>` (tokens are issued in the admin).",
    auth=[TokenAuth(), ScopedSessionAuth()],
    urls_namespace="api",
)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> Any:
    return api.create_response(request, {"detail": str(exc)}, status=403)


@api.exception_handler(ValueError)
def _bad_value(request: HttpRequest, exc: ValueError) -> Any:
    return api.create_response(request, {"detail": str(exc)}, status=400)


class NotFoundOut(Schema):
    detail: str
    merged_into: int | None = None  # the conversation was merged into this one (when you may see it)


class ConversationMerged(Http404):
    def __init__(self, survivor_id: int) -> None:
        super().__init__(f"This conversation was merged into conversation {survivor_id}.")
        self.survivor_id = survivor_id


@api.exception_handler(ConversationMerged)
def _merged(request: HttpRequest, exc: ConversationMerged) -> Any:
    """404 (the resource is gone; a write is never replayed on another conversation), with the survivor's id."""
    return api.create_response(request, {"detail": str(exc), "merged_into": exc.survivor_id}, status=404)


v1 = Router(tags=["inbox"])


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


@v1.get("/conversations", response=ConversationPage)
def list_conversations(
    request: HttpRequest,
    status: str | None = None,
    brand: int | None = None,
    sentiment: str | None = None,
    assignee: str | None = None,
    team: int | None = None,
    network: str | None = None,
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
        "q": q,
        "sort": sort,
    }
    f = InboxFilters.from_params(params, default_status=None)
    rows, nxt = page(filter_conversations(scope, f), f.sort, cursor, limit)
    return {"items": [_conv_out(c) for c in rows], "next_cursor": nxt}


def conversation_or_404(scope: Scope, conversation_id: int) -> Conversation:
    try:
        return get_scoped_or_404(Conversation.objects.select_related("brand", "author"), scope, id=conversation_id)
    except Http404:
        survivor_id = merged_into(scope, conversation_id)
        if survivor_id is None:
            raise  # never merged, or merged into a conversation outside the scope: a plain 404
        raise ConversationMerged(survivor_id) from None


@v1.get("/conversations/{conversation_id}", response={200: ConversationOut, 404: NotFoundOut})
def get_conversation(request: HttpRequest, conversation_id: int) -> Any:
    return _conv_out(conversation_or_404(request_scope(request), conversation_id))


@v1.get("/conversations/{conversation_id}/messages", response={200: list[MessageOut], 404: NotFoundOut})
def list_messages(request: HttpRequest, conversation_id: int) -> Any:
    conv = conversation_or_404(request_scope(request), conversation_id)
    return [
        {
            **{f: getattr(m, f) for f in MessageOut.model_fields if f != "author"},
            "author": m.author.handle if m.author else None,
        }
        for m in conv.messages.select_related("author").order_by("created_at", "id")
    ]


@v1.post(
    "/conversations/{conversation_id}/replies", response={201: ReplyOut, 400: ErrorOut, 403: ErrorOut, 404: NotFoundOut}
)
def post_reply(request: HttpRequest, conversation_id: int, body: ReplyIn) -> Any:
    scope = request_scope(request)
    conv = conversation_or_404(scope, conversation_id)
    try:
        reply = do_create_reply(scope, conv, body.text, Origin.API)
    except ReplyTooLong as exc:
        return Status(400, {"detail": str(exc)})
    reply.refresh_from_db()
    return Status(201, reply)


@v1.patch(
    "/conversations/{conversation_id}", response={200: ConversationOut, 400: ErrorOut, 403: ErrorOut, 404: NotFoundOut}
)
def patch_conversation(request: HttpRequest, conversation_id: int, body: ConversationPatch) -> Any:
    scope = request_scope(request)
    conv = conversation_or_404(scope, conversation_id)
    if body.status:
        do_change_status(scope, conv, body.status)
    if body.assignee_id is not None or body.team_id is not None or body.unassign:
        do_assign(scope, conv, None if body.unassign else body.assignee_id, body.team_id)
    conv.refresh_from_db()
    return _conv_out(conv)


api.add_router("/v1", v1)


def _mount_app_routers() -> None:
    """Each app may expose `hubbub.<app>.api.router` (and more routers listed here); mounted under /api/v1/."""
    import importlib

    for name in ("workflow.api", "crm.api", "listening.api", "analysis.api", "insights.api", "insights.survey_api"):
        try:
            module = importlib.import_module(f"hubbub.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"hubbub.{name}":
                raise
            continue
        api.add_router("/v1", module.router)


_mount_app_routers()
