"""Server-Sent Events: one stream per browser tab, filtered to the user's organisation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from hubbub.inbox.models import Message
from hubbub.live import MAX_EVENT_IDS, get_bus

POLL_SECONDS = 5


@sync_to_async
def _latest_message_id(org_id: int) -> int:
    last = Message.objects.filter(organization_id=org_id).order_by("-id").values_list("id", flat=True).first()
    return int(last or 0)


@sync_to_async
def _conversations_since(org_id: int, after: int) -> list[int]:
    """The conversations of the newest messages stored after message `after` (at most `MAX_EVENT_IDS`)."""
    rows = (
        Message.objects.filter(organization_id=org_id, id__gt=after)
        .order_by("-id")
        .values_list("conversation_id", flat=True)[: 5 * MAX_EVENT_IDS]
    )
    return list(dict.fromkeys(c for c in rows if c is not None))[:MAX_EVENT_IDS]


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
