"""Events polled from connected channels enter the main road here: the same `accept` as webhooks and imports.

`connectors.polling` is below ingest in the app tree, so it is handed `accept_channel_events` by the periodic
task and the CLI instead of importing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hubbub.connectors import polling
from hubbub.connectors.email_watchers import EmailWatchers
from hubbub.connectors.events import InboundEvent
from hubbub.connectors.models import Channel
from hubbub.ingest import services
from hubbub.ingest.models import RawEvent


def accept_channel_events(channel: Channel, events: Sequence[InboundEvent]) -> int:
    """Commit the channel's events and queue them for processing; returns how many were new. Returns only
    after the commit, so the polling loop may then move the channel's cursor."""
    result = services.accept(channel.organization_id, events, source=f"channel:{channel.pk}")
    if result.raw_ids:
        services.enqueue_processing(result.raw_ids)  # a lost enqueue is picked up by `sweep_pending`
    return result.accepted


def event_extra(organization_id: int, network: str, external_id: str) -> dict[str, Any]:
    """What the network said beside a stored message (`InboundEvent.extra`), for a connector answering it;
    {} for a message Hubbub never received as an event (an import without extras, an erased copy)."""
    payload = (
        RawEvent.objects.filter(organization_id=organization_id, network=network, external_id=external_id)
        .values_list("payload", flat=True)
        .first()
    )
    extra = (payload or {}).get("extra")
    return dict(extra) if isinstance(extra, dict) else {}


def poll_due_channels() -> list[polling.PollOutcome]:
    return polling.poll_due(accept_channel_events)


def poll_channel_now(channel: Channel) -> polling.PollOutcome:
    return polling.poll_channel(channel, accept_channel_events)


def email_watchers(owner: str | None = None) -> EmailWatchers:
    """The supervisor of this process's IDLE watchers, waking `poll_channel_now` (not started: `start()`)."""
    return EmailWatchers(poll_channel_now, owner=owner)
