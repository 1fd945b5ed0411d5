"""The outbound path: length checks per network and delivery to the network (or the local sink).

A reply goes to the connector of its brand's active channel on the conversation's network (`base`), as an
`OutboundReply`: the inbox hands over the reply and which message it answers, never its models' insides, and
the connector never sees an inbox model. The answered message's `InboundEvent.extra` (Bluesky's root refs, an
email's References, Mastodon's visibility) is kept by ingest in its raw event log, below which this module
sits, so ingest registers the lookup at start-up (`register_event_extra_lookup`).

With no channel for the brand and network a reply is written to `OUTBOUND_SINK_DIR` as one
JSON file named by its idempotency key. The sink behaves like a network without
idempotency keys: it posts whatever it is sent, so exactly-once is the delivery's
job (`inbox.actions.delivery`), which asks `find_posted` before sending again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from hubbub.connectors.base import Connector, OutboundReply, connector_for
from hubbub.connectors.models import MAX_REPLY_CHARS, Channel, ChannelStatus
from hubbub.faults import crash_point


class ReplyTooLong(ValueError):
    pass


def check_length(network: str, text: str) -> None:
    limit = MAX_REPLY_CHARS.get(network)  # type: ignore[call-overload]
    if limit is not None and len(text) > limit:
        raise ReplyTooLong(f"Too long for {network}: {len(text)} characters, the limit is {limit}.")


class DeliveryError(Exception):
    """A network did not take a reply. `reason` is what the agent is shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientDeliveryError(DeliveryError):
    """Worth trying again: a timeout, a 5xx, a 429 (`retry_after` seconds when the network said so). The post
    may or may not have reached the network: the next attempt asks it first (`find_posted`)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """The network refused the reply for good (a 4xx: deleted tweet, revoked token, text rejected): sending the
    same request again cannot help. The reply is marked failed with this reason and the agent can retry it."""


def _sink() -> Path:
    sink = Path(settings.OUTBOUND_SINK_DIR)
    sink.mkdir(parents=True, exist_ok=True)
    return sink


# The key of `InboundEvent.extra` naming the channel an event was polled through (set by `polling`).
RECEIVED_BY = "hubbub_channel_id"
# (organization id, network, external id) -> that event's `extra`, or {} when it is not known.
EventExtraLookup = Callable[[int, str, str], dict[str, Any]]
_event_extra: list[EventExtraLookup] = []


def register_event_extra_lookup(lookup: EventExtraLookup) -> None:
    """Called by ingest at start-up: how to find what a network said beside the message being answered."""
    _event_extra[:] = [lookup]


def find_posted(reply, *, in_reply_to: str = "", recipient: str = "") -> str | None:  # type: ignore[no-untyped-def]
    """The network's id of this reply's post if the network has it (looked up by the idempotency key), else
    None. Asked before sending again a reply whose earlier attempt may have reached the network."""
    target = _connected(reply, in_reply_to, recipient)
    if target is not None:
        connector, channel, outbound = target
        return connector.find_posted(channel, outbound)
    path = _sink() / f"{reply.idempotency_key}.json"
    if not path.exists():
        return None
    return str(json.loads(path.read_text())["id"])


def send_reply(reply, *, in_reply_to: str = "", recipient: str = "") -> str:  # type: ignore[no-untyped-def]
    """Post a reply, answering the message `in_reply_to` (its network id) of `recipient`; return the network's
    id for the posted message. Through the brand's channel when it has one, else into the sink."""
    target = _connected(reply, in_reply_to, recipient)
    if target is not None:
        connector, channel, outbound = target
        return connector.send_reply(channel, outbound)
    return _sink_post(reply)


def _connected(reply, in_reply_to: str, recipient: str) -> tuple[Connector, Channel, OutboundReply] | None:  # type: ignore[no-untyped-def]
    """The connector, the channel and the reply as the connector takes it, or None for the sink (no channel of
    the brand on that network). The channel that received the message answered is preferred (a brand may have
    two accounts on one network); a channel whose credentials were refused fails the reply with the reason
    rather than use the sink."""
    network = reply.conversation.network
    connector = connector_for(network)
    if connector is None:
        return None
    extra = _extra_of(reply.organization_id, network, in_reply_to)
    channels = Channel.objects.filter(
        organization_id=reply.organization_id, brand_id=reply.brand_id, network=network, is_active=True
    )
    received_by = extra.get(RECEIVED_BY)
    channel = (channels.filter(id=received_by).first() if received_by else None) or channels.order_by("id").first()
    if channel is None:
        return None
    if channel.status == ChannelStatus.RECONNECT_NEEDED:
        raise PermanentDeliveryError(
            f"The {channel.get_network_display()} account {channel.name} must be connected again "
            "(Settings → Channels); then retry this reply."
        )
    outbound = OutboundReply(
        idempotency_key=str(reply.idempotency_key),
        text=reply.text,
        network=network,
        brand_slug=reply.brand.slug,
        conversation_id=reply.conversation_id,
        in_reply_to=in_reply_to,
        in_reply_to_extra=extra,
        recipient=recipient,
    )
    return connector, channel, outbound


def _extra_of(organization_id: int, network: str, external_id: str) -> dict[str, Any]:
    if not external_id:
        return {}
    if not _event_extra:
        raise RuntimeError("No event lookup registered: ingest must be installed to send through a channel.")
    return _event_extra[0](organization_id, network, external_id)


def _sink_post(reply) -> str:  # type: ignore[no-untyped-def]
    """Like most networks (X has no idempotency key), the sink posts again when asked again: a second post of
    the same reply is kept beside the first as `<key>.again-<n>.json`, so a double post shows instead of being
    hidden."""
    sink = _sink()
    path = sink / f"{reply.idempotency_key}.json"
    external_id = "out-" + hashlib.sha1(str(reply.idempotency_key).encode()).hexdigest()[:16]
    body = json.dumps(
        {
            "id": external_id,
            "network": reply.conversation.network,
            "brand": reply.brand.slug,
            "conversation": reply.conversation_id,
            "text": reply.text,
            "sent_at": timezone.now().isoformat(),
        }
    )
    n = 1
    while path.exists():
        n += 1
        path = sink / f"{reply.idempotency_key}.again-{n}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(body)
    crash_point("sink.before_accept")  # the request is on its way: the network has not taken it yet
    tmp.replace(path)
    return external_id
