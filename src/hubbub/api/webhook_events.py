"""What the apps above tell integrators: `emit()` an event, and each active endpoint of the organisation that
subscribed to its type gets a delivery, written and queued after the change commits (an event never describes
a change that rolled back).

The apps that own the events (inbox, listening, ingest) sit above `api` in the app tree, so they call down to
here; `api` imports none of them. The hot path pays nothing when nobody listens: `wants()` answers from a cache
of each organisation's subscribed event types (cleared on every endpoint change, and at most
`SUBSCRIPTIONS_TTL` seconds old in other processes), and a payload that needs a query is built only after that.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from hubbub.api.webhook_models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint
from hubbub.queueing import enqueue

SUBSCRIPTIONS_TTL = 30
Payload = dict[str, Any]


def _cache_key(organization_id: int) -> str:
    return f"hubbub:webhook-subscriptions:{organization_id}"


def subscribed_types(organization_id: int) -> frozenset[str]:
    key = _cache_key(organization_id)
    found = cache.get(key)
    if found is None:
        found = frozenset(
            t
            for events in WebhookEndpoint.objects.filter(organization_id=organization_id, active=True).values_list(
                "events", flat=True
            )
            for t in events
        )
        cache.set(key, found, SUBSCRIPTIONS_TTL)
    return frozenset(found)


def forget_subscriptions(organization_id: int) -> None:
    """Called by every change of an endpoint, so this process sees it at once."""
    cache.delete(_cache_key(organization_id))


def wants(organization_id: int, event_type: str) -> bool:
    return event_type in subscribed_types(organization_id)


def emit(organization_id: int, event_type: str, data: Payload | Callable[[], Payload | None]) -> None:
    """Announce an event; `data` (or the callable building it after commit, for payloads that cost a query)
    becomes the `data` of the envelope. Nothing happens when no endpoint of the organisation wants the type."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown webhook event {event_type!r}")
    if not wants(organization_id, event_type):
        return

    def after_commit() -> None:
        built = data() if callable(data) else data
        if built is not None:
            queue_event(organization_id, event_type, built)

    transaction.on_commit(after_commit)


def envelope(event_type: str, data: Payload) -> Payload:
    return {
        "id": "evt_" + uuid.uuid4().hex,
        "type": event_type,
        "created_at": timezone.now().isoformat(),
        "data": data,
    }


def queue_event(
    organization_id: int, event_type: str, data: Payload, endpoints: list[WebhookEndpoint] | None = None
) -> list[WebhookDelivery]:
    """One delivery per subscribed active endpoint (or per given endpoint), each sent by its own task."""
    if endpoints is None:
        endpoints = [
            e
            for e in WebhookEndpoint.objects.filter(organization_id=organization_id, active=True)
            if event_type in e.events
        ]
    if not endpoints:
        return []
    body = envelope(event_type, data)
    now = timezone.now()
    made = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            organization_id=organization_id,
            endpoint=e,
            event_type=event_type,
            event_id=body["id"],
            payload=body,
            next_attempt_at=now,
        )
        for e in endpoints
    )
    from hubbub.api.tasks import deliver_webhook_task  # tasks import the sender, which imports this module

    ids = [d.pk for d in made]

    def send_each() -> None:
        for pk in ids:
            enqueue(deliver_webhook_task, pk)  # a queue outage holds them; the minute's sweep is the net

    transaction.on_commit(send_each)
    return made
