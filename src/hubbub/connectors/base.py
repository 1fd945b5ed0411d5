"""The contract every network connector meets, and the registry that finds one by network.

A connector is the only code that knows a network's wire format. It turns what the network says into
`InboundEvent`s (`poll`) and posts the brand's replies (`send_reply`), and nothing else: the polling loop
(`connectors.polling`) keeps the cursor and the channel's health, ingest stores the events, and delivery
(`inbox.actions.delivery`) decides when to post and records the result. So a connector never imports the
inbox or ingest; what it needs of a reply comes in an `OutboundReply`.

A network module registers its connector when it is imported (`register(MyConnector())` at module level);
`ConnectorsConfig.ready` imports every network module, or `defer`s one whose client library is heavy, so the
registry answers for every network once Django is set up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from typing import TYPE_CHECKING, Any, Protocol

from hubbub.connectors.events import InboundEvent

if TYPE_CHECKING:
    from hubbub.connectors.models import Channel


@dataclass(frozen=True, slots=True)
class OutboundReply:
    """What a connector needs to post one reply; built by `connectors.outbound` from the inbox's reply."""

    idempotency_key: str  # stable per reply: sent where the network supports one (Mastodon's Idempotency-Key)
    text: str
    network: str
    brand_slug: str
    conversation_id: int
    in_reply_to: str  # network id of the message answered (status id, at-uri, Message-ID…)
    in_reply_to_extra: dict[str, Any] = field(default_factory=dict)  # that message's InboundEvent.extra
    recipient: str = ""  # the customer's handle / address


@dataclass(slots=True)
class PollResult:
    """One poll's events and the cursor to persist once they are accepted (never before). `backlog` says the
    network had more than one poll reads: the polling loop polls the channel again at once instead of letting
    the rest wait for the next tick."""

    events: list[InboundEvent]
    cursor: dict[str, Any]
    rate_limit_remaining: int | None = None
    rate_limit_reset_at: datetime | None = None
    backlog: bool = False


class ChannelError(Exception):
    """A channel could not be used. `reason` is shown to the brand's admins as it is, so it says what went wrong
    in their words (never a response body). `reconnect_needed` marks expired or revoked credentials: polling
    stops until an admin connects the account again. `retry_after` (seconds) is the network's own wait.
    `rate_limited` marks a 429: the channel records a budget of 0 until the reset, so the admins see why it
    waits rather than a plain failure."""

    def __init__(
        self,
        reason: str,
        *,
        reconnect_needed: bool = False,
        retry_after: float | None = None,
        rate_limited: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reconnect_needed = reconnect_needed
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class Connector(Protocol):
    """One network. Methods take the `Channel` (its decrypted `credentials` hold the account's settings)."""

    network: str  # a `Network` value from connectors/models.py

    def check(self, channel: Channel) -> str:
        """ "Test connection": a short description of the account ("@brand on mastodon.social"), or ChannelError."""
        ...

    def poll(self, channel: Channel, cursor: dict[str, Any]) -> PollResult:
        """What is new since `cursor` (empty on the first poll). ChannelError on failure."""
        ...

    def send_reply(self, channel: Channel, reply: OutboundReply) -> str:
        """Post the reply; return the network's id. Raises `outbound.TransientDeliveryError` or
        `outbound.PermanentDeliveryError`."""
        ...

    def find_posted(self, channel: Channel, reply: OutboundReply) -> str | None:
        """The network id of this reply if it was already posted (a crash between the network's accept and
        Hubbub's record), else None."""
        ...


_REGISTRY: dict[str, Connector] = {}
# network → the module that registers its connector when first asked for (`defer`)
_DEFERRED: dict[str, str] = {}


def register(connector: Connector) -> None:
    """Make `connector` the one for its network. Registering a second one for a network replaces the first,
    so a test can put a double in place; two modules claiming one network in production would be a bug."""
    _REGISTRY[connector.network] = connector


def defer(network: str, module: str) -> None:
    """`module` registers the connector of `network`, and is imported the first time it is asked for: its
    client library (Mastodon.py, atproto's thousands of models) then costs memory only in the processes that
    talk to that network, not in every web process."""
    _DEFERRED[network] = module


def connector_for(network: str) -> Connector | None:
    """The registered connector of `network`, or None (a network Hubbub only imports files from)."""
    if network not in _REGISTRY and network in _DEFERRED:
        import_module(_DEFERRED[network])
    return _REGISTRY.get(network)


def registered_networks() -> list[str]:
    return sorted(set(_REGISTRY) | set(_DEFERRED))
