"""What the live stream (`web.views.live`) asks the inbox when its bus is quiet: were messages stored by
another process (a CLI import, a worker without Redis), and in which conversations? And, for a brand-restricted
user's stream, which brand each conversation named by an event belongs to.

Registered with the stream in `InboxConfig.ready`: web sits below the inbox and never imports it.
"""

from __future__ import annotations

from hubbub.inbox.models import Conversation, Message
from hubbub.live import MAX_EVENT_IDS


def latest_message_id(org_id: int) -> int:
    """The id of the organisation's newest stored message (0 for none): one indexed query."""
    last = Message.objects.filter(organization_id=org_id).order_by("-id").values_list("id", flat=True).first()
    return int(last or 0)


def conversations_since(org_id: int, after: int) -> list[int]:
    """The conversations of the newest messages stored after message `after` (at most `MAX_EVENT_IDS`)."""
    rows = (
        Message.objects.filter(organization_id=org_id, id__gt=after)
        .order_by("-id")
        .values_list("conversation_id", flat=True)[: 5 * MAX_EVENT_IDS]
    )
    return list(dict.fromkeys(c for c in rows if c is not None))[:MAX_EVENT_IDS]


def conversation_brands(org_id: int, conversation_ids: list[int]) -> dict[int, int]:
    """The brand of each of the organisation's conversations among `conversation_ids` (others are absent), so
    the stream can keep a brand-restricted user's events to their brands: one query by primary key."""
    rows = Conversation.objects.filter(id__in=conversation_ids[: 5 * MAX_EVENT_IDS]).values_list(
        "id", "organization_id", "brand_id"
    )
    return {cid: brand_id for cid, org, brand_id in rows if org == org_id}
