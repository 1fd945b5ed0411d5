"""Events polled from connected channels enter the main road here: the same `accept` as webhooks and imports.

`connectors.polling` is below ingest in the app tree, so it is handed `accept_channel_events` by the periodic
task and the CLI instead of importing it.
"""

from __future__ import annotations

from collections.abc import Sequence

from hubbub.connectors import polling
from hubbub.connectors.events import InboundEvent
from hubbub.connectors.models import Channel
from hubbub.ingest import services


def accept_channel_events(channel: Channel, events: Sequence[InboundEvent]) -> int:
    """Commit the channel's events and queue them for processing; returns how many were new. Returns only
    after the commit, so the polling loop may then move the channel's cursor."""
    result = services.accept(channel.organization_id, events, source=f"channel:{channel.pk}")
    if result.raw_ids:
        services.enqueue_processing(result.raw_ids)  # a lost enqueue is picked up by `sweep_pending`
    return result.accepted


def poll_due_channels() -> list[polling.PollOutcome]:
    return polling.poll_due(accept_channel_events)


def poll_channel_now(channel: Channel) -> polling.PollOutcome:
    return polling.poll_channel(channel, accept_channel_events)
