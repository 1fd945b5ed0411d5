"""Server-Sent Events: one stream per browser tab, filtered to the user's organisation and brands."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from hubbub.live import get_bus
from hubbub.tenancy.scoping import Scope

POLL_SECONDS = 5


@dataclass(frozen=True)
class MessageBacklog:
    """How the stream learns of messages stored by another process while its bus was quiet: the id of an
    organisation's newest message, and the conversations of the messages stored after a given id."""

    latest_id: Callable[[int], int]
    conversations_since: Callable[[int, int], list[int]]
    # {conversation id: brand id} for an organisation's conversations among the ids given (others absent)
    brands_of: Callable[[int, list[int]], dict[int, int]]


_backlog: MessageBacklog | None = None


def register_message_backlog(
    latest_id: Callable[[int], int],
    conversations_since: Callable[[int, int], list[int]],
    brands_of: Callable[[int, list[int]], dict[int, int]],
) -> None:
    """Called by the app that stores messages (the inbox, in `InboxConfig.ready`): web sits below it and
    never imports it. Without one the stream only relays the bus (and keeps the connection alive), and a
    brand-restricted user gets no event that names conversations."""
    global _backlog
    _backlog = MessageBacklog(latest_id, conversations_since, brands_of)


@sync_to_async
def _latest_message_id(org_id: int) -> int:
    return _backlog.latest_id(org_id) if _backlog else 0


@sync_to_async
def _conversations_since(org_id: int, after: int) -> list[int]:
    return _backlog.conversations_since(org_id, after) if _backlog else []


@sync_to_async
def _brands_of(org_id: int, conversation_ids: list[int]) -> dict[int, int]:
    return _backlog.brands_of(org_id, conversation_ids) if _backlog else {}


def visible_to(event: dict[str, object], org_id: int, user_id: int) -> bool:
    """Events of the user's organisation; one addressed to a user (a reviewer's notice) only to that user."""
    if event.get("organization_id") != org_id:
        return False
    addressed = event.get("user_id")
    return addressed is None or addressed == user_id


def _ids(value: object) -> list[int]:
    if isinstance(value, int):
        return [value]
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


async def for_scope(event: dict[str, Any], scope: Scope) -> dict[str, Any] | None:
    """The event as this subscriber may see it, or None. A user who sees every brand gets it whole. For a
    brand-restricted user an event must show it is theirs: its `brand_id` is one of their brands, or the
    conversations it names are (looked up; other brands' ids are cut from a list, and an event about
    another brand's conversation is dropped). Anything else is dropped: an event that says nothing of
    its brand may carry another brand's ids, statuses or titles."""
    if not scope.restricted:
        return event
    if "brand_id" in event:
        brand_id = event["brand_id"]
        return event if isinstance(brand_id, int) and scope.sees_brand(brand_id) else None
    # A merged conversation no longer exists: its survivor (same brand) decides.
    main = _ids(event.get("merged_into", event.get("conversation_id")))
    listed = _ids(event.get("conversation_ids"))
    if not main and not listed:
        return None
    brands = await _brands_of(scope.organization_id, main + listed)
    visible = {cid for cid, brand_id in brands.items() if scope.sees_brand(brand_id)}
    if any(cid not in visible for cid in main):
        return None
    if "conversation_ids" in event:
        kept = [cid for cid in listed if cid in visible]
        if not kept:
            return None
        # the count of other brands' messages is not theirs to know either
        event = {k: v for k, v in event.items() if k != "count"} | {"conversation_ids": kept}
    return event


async def _line(event: dict[str, Any], scope: Scope) -> str | None:
    shown = await for_scope(event, scope)
    return None if shown is None else f"event: {shown.get('kind', 'message')}\ndata: {json.dumps(shown)}\n\n"


async def event_lines(scope: Scope, user_id: int, source: AsyncIterator[dict[str, Any] | None]) -> AsyncIterator[str]:
    """What one subscriber's stream sends: the events of `source` (the bus; None for a quiet spell) that
    this user may see, as SSE lines, plus what the quiet-bus poll finds."""
    org_id = scope.organization_id
    yield "retry: 3000\n\n"
    last_seen = await _latest_message_id(org_id)
    async for event in source:
        if event is None:
            # Quiet bus: another process (a CLI import, a separate worker without Redis) may still
            # have stored messages. One indexed query tells; the browser then refreshes its list (and
            # the open conversation's pane, when it is one of those that got messages).
            latest = await _latest_message_id(org_id)
            if latest > last_seen:
                conversation_ids = await _conversations_since(org_id, last_seen)
                last_seen = latest
                news = {"kind": "messages", "source": "poll", "conversation_ids": conversation_ids}
                yield await _line(news, scope) or ": keep-alive\n\n"
            else:
                yield ": keep-alive\n\n"
            continue
        if event.get("kind") == "live":  # the stream's own state (live.PAUSED / RESUMED): no tenant data
            yield f"event: live\ndata: {json.dumps(event)}\n\n"
            continue
        if visible_to(event, org_id, user_id):
            line = await _line(event, scope)
            if line is not None:
                yield line


async def stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    user = await request.auser()
    scope = getattr(request, "tenant", None)
    if not user.is_authenticated or scope is None:
        return HttpResponse("Log in to receive live updates.", status=401, content_type="text/plain")
    lines = event_lines(scope, user.pk, get_bus().subscribe(idle=POLL_SECONDS))
    response = StreamingHttpResponse(lines, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
