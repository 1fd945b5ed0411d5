"""`mention.created` for integrators' webhooks: one event per stored batch (at most `PER_EVENT` mentions each),
not one per message, so a 500-event batch costs its organisation's receivers one or a few requests. Nothing is
looked up or queued when no endpoint of the organisation subscribed (a cached check, see
`api.webhook_events.wants`); otherwise the messages are read after the batch committed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hubbub.api.webhook_events import emit, wants
from hubbub.connectors.events import InboundEvent
from hubbub.inbox.models import Direction, Message

EVENT = "mention.created"
PER_EVENT = 100


def announce_mentions(organization_id: int, events: Sequence[InboundEvent]) -> None:
    if not events or not wants(organization_id, EVENT):
        return
    keys = [(ev.network, ev.external_id) for ev in events]
    for start in range(0, len(keys), PER_EVENT):
        emit(organization_id, EVENT, _builder(organization_id, keys[start : start + PER_EVENT]))


def _builder(organization_id: int, keys: list[tuple[str, str]]) -> Callable[[], dict[str, Any] | None]:
    def build() -> dict[str, Any] | None:
        wanted = set(keys)
        rows = Message.objects.filter(
            organization_id=organization_id,
            direction=Direction.IN,
            external_id__in=[external_id for _, external_id in keys],
        ).order_by("created_at", "pk")
        mentions = [mention_data(m) for m in rows if (m.network, m.external_id) in wanted]
        return {"mentions": mentions} if mentions else None

    return build


def mention_data(m: Message) -> dict[str, Any]:
    return {
        "id": m.pk,
        "conversation_id": m.conversation_id,
        "brand_id": m.brand_id,
        "network": m.network,
        "external_id": m.external_id,
        "text": m.text,
        "url": m.url,
        "created_at": m.created_at.isoformat(),
        "author_id": m.author_id,
        "sentiment": m.sentiment,
        "intent": m.intent,
        "topic": m.topic,
        "urgency": m.urgency,
    }
