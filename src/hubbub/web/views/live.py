"""Server-Sent Events: one stream per browser tab, filtered to the user's organisation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from hubbub.live import get_bus

POLL_SECONDS = 5


@dataclass(frozen=True)
class MessageBacklog:
    """How the stream learns of messages stored by another process while its bus was quiet: the id of an
    organisation's newest message, and the conversations of the messages stored after a given id."""

    latest_id: Callable[[int], int]
    conversations_since: Callable[[int, int], list[int]]


_backlog: MessageBacklog | None = None


def register_message_backlog(
    latest_id: Callable[[int], int], conversations_since: Callable[[int, int], list[int]]
) -> None:
    """Called by the app that stores messages (the inbox, in `InboxConfig.ready`): web sits below it and
    never imports it. Without one the stream only relays the bus (and keeps the connection alive)."""
    global _backlog
    _backlog = MessageBacklog(latest_id, conversations_since)


@sync_to_async
def _latest_message_id(org_id: int) -> int:
    return _backlog.latest_id(org_id) if _backlog else 0


@sync_to_async
def _conversations_since(org_id: int, after: int) -> list[int]:
    return _backlog.conversations_since(org_id, after) if _backlog else []


def visible_to(event: dict[str, object], org_id: int, user_id: int) -> bool:
    """Events of the user's organisation; one addressed to a user (a reviewer's notice) only to that user."""
    if event.get("organization_id") != org_id:
        return False
    addressed = event.get("user_id")
    return addressed is None or addressed == user_id


async def stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    user = await request.auser()
    scope = getattr(request, "tenant", None)
    if not user.is_authenticated or scope is None:
        return HttpResponse("Log in to receive live updates.", status=401, content_type="text/plain")
    org_id = scope.organization_id

    async def events() -> AsyncIterator[str]:
        yield "retry: 3000\n\n"
        last_seen = await _latest_message_id(org_id)
        async for event in get_bus().subscribe(idle=POLL_SECONDS):
            if event is None:
                # Quiet bus: another process (a CLI import, a separate worker without Redis) may still
                # have stored messages. One indexed query tells; the browser then refreshes its list (and
                # the open conversation's pane, when it is one of those that got messages).
                latest = await _latest_message_id(org_id)
                if latest > last_seen:
                    conversation_ids = await _conversations_since(org_id, last_seen)
                    last_seen = latest
                    news = {"kind": "messages", "source": "poll", "conversation_ids": conversation_ids}
                    yield f"event: messages\ndata: {json.dumps(news)}\n\n"
                else:
                    yield ": keep-alive\n\n"
                continue
            if not visible_to(event, org_id, user.pk):
                continue
            yield f"event: {event.get('kind', 'message')}\ndata: {json.dumps(event)}\n\n"

    response = StreamingHttpResponse(events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
