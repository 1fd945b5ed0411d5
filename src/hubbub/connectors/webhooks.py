"""Webhook wire formats: the signature checks, the subscription handshakes, and a delivery read into events.

The HTTP side is `ingest.webhook_intake` (served by `ingest.webhook_asgi` under uvicorn and `webhook_views`
through Django; it commits raw events, which this app sits below); this module is the part that knows the
networks, and does only what the request path needs: check the signature over the raw body, read the JSON
once, name the accounts it is for and turn its items into `InboundEvent`s.

- **X** (Account Activity API): `GET ?crc_token=` is answered `{"response_token": "sha256=<base64 HMAC-SHA256
  (consumer secret, crc_token)>"}`; a delivery carries `x-twitter-webhooks-signature: sha256=<base64 HMAC of
  the body>`, `for_user_id` and `tweet_create_events` / `direct_message_events`.
- **Meta** (Facebook Pages, Instagram, Threads): `GET hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`
  is answered with the challenge; a delivery carries `X-Hub-Signature-256: sha256=<hex HMAC of the body>`.
  Pages and Instagram send `object` + `entry[]` (`changes[]`, `messaging[]`); Threads sends `target_id` +
  `values` (`field` replies|mentions, `value` the post), or, batched, the `entry[].changes[]` form.

The secrets are the Hubbub app's own on each platform (settings `X_CONSUMER_SECRET`, `META_APP_SECRET`,
`META_VERIFY_TOKEN`): one per deployment, so a request is checked before any channel is looked up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson
from django.conf import settings

from hubbub.connectors.meta_events import meta_items
from hubbub.connectors.webhook_items import Item
from hubbub.connectors.x_events import x_items

#: The path names a Meta app's callback may use (one app, one secret): `/hooks/meta/` or per product.
META_PATHS = frozenset({"meta", "facebook", "instagram", "threads"})
NETWORK_PATHS = META_PATHS | {"x"}


class Refused(Exception):
    """The request is not from the network (or not for us): answered `status` with the reason, nothing kept."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Delivery:
    items: list[Item] = field(default_factory=list)
    ignored: int = 0  # well-formed notifications that are not conversations (likes, read receipts, edits)


def handshake(path: str, params: Mapping[str, str]) -> tuple[str, dict[str, str] | str]:
    """The answer to a subscription check: ("json", body) for X's CRC, ("text", challenge) for Meta's.
    Raises Refused when the check is not ours (wrong verify token, no secret configured)."""
    if path == "x":
        token = params.get("crc_token", "")
        if not token:
            raise Refused(400, "A CRC check needs crc_token.")
        secret = _secret(settings.X_CONSUMER_SECRET, "HUBBUB_X_CONSUMER_SECRET")
        digest = hmac.new(secret, token.encode(), hashlib.sha256).digest()
        return "json", {"response_token": "sha256=" + base64.b64encode(digest).decode()}
    if params.get("hub.mode") != "subscribe":
        raise Refused(400, "A Meta verification request needs hub.mode=subscribe.")
    expected = settings.META_VERIFY_TOKEN
    if not expected or not hmac.compare_digest(params.get("hub.verify_token", "").encode(), expected.encode()):
        raise Refused(403, "The verify token is not the one configured (HUBBUB_META_VERIFY_TOKEN).")
    return "text", params.get("hub.challenge", "")


def check_signature(path: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Refused(401) unless the body is signed with the app's secret. Compared in constant time."""
    if path == "x":
        secret = _secret(settings.X_CONSUMER_SECRET, "HUBBUB_X_CONSUMER_SECRET")
        given = headers.get("x-twitter-webhooks-signature", "")
        expected = "sha256=" + base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
        header = "x-twitter-webhooks-signature"
    else:
        secret = _secret(settings.META_APP_SECRET, "HUBBUB_META_APP_SECRET")
        given = headers.get("x-hub-signature-256", "")
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        header = "X-Hub-Signature-256"
    if not given:
        raise Refused(401, f"The delivery has no {header} header.")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Refused(401, f"The {header} signature does not match the body.")


def read_delivery(path: str, body: bytes) -> Delivery:
    """The delivery's items. Raises ValueError with the reason when the body is not a delivery at all (not
    JSON, not an object, names no account): there is then no account to file it under."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"The body is not JSON ({exc}).") from exc
    if not isinstance(data, dict):
        raise ValueError("The body is not a JSON object.")
    delivery = Delivery()
    if path == "x":
        x_items(data, delivery.items)
    else:
        delivery.ignored = meta_items(data, delivery.items)
    if not delivery.items and not delivery.ignored:
        raise ValueError("The delivery names no account and holds nothing Hubbub reads.")
    return delivery


def _secret(value: str, name: str) -> bytes:
    if not value:
        raise Refused(403, f"Webhooks of this network are off: {name} is not set.")
    return value.encode()
