"""The outbound path: length checks per network and delivery to the network (or the local sink).

With no live network credentials a reply is written to `OUTBOUND_SINK_DIR` as one
JSON file named by its idempotency key. The sink behaves like a network without
idempotency keys: it posts whatever it is sent, so exactly-once is the delivery's
job (`inbox.actions.delivery`), which asks `find_posted` before sending again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from hubbub.connectors.models import MAX_REPLY_CHARS
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


def find_posted(reply) -> str | None:  # type: ignore[no-untyped-def]
    """The network's id of this reply's post if the network has it (looked up by the idempotency key), else
    None. Asked before sending again a reply whose earlier attempt may have reached the network."""
    path = _sink() / f"{reply.idempotency_key}.json"
    if not path.exists():
        return None
    return str(json.loads(path.read_text())["id"])


def send_reply(reply) -> str:  # type: ignore[no-untyped-def]
    """Post a reply; return the network's id for the posted message. Like most networks (X has no idempotency
    key), the sink posts again when asked again: a second post of the same reply is kept beside the first as
    `<key>.again-<n>.json`, so a double post shows instead of being hidden."""
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
