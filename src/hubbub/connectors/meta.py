"""Facebook Pages, Instagram and Threads (Meta's Graph APIs): in by webhook (`ingest.webhook_views`), out by the
Graph API. One module, three registered connectors (networks `facebook`, `instagram`, `threads`).

Credentials: `access_token` (a Page access token for Facebook and Instagram, a Threads user token for
Threads), the account id in the channel's `account_id` (page id, Instagram user id, Threads user id: what
webhook deliveries name), optional `username` (Threads) and `graph_url` (default Graph API version below,
`https://graph.threads.net/v1.0` for Threads; a proxy or a test fake). Every request goes through the outbound
client.

- **Page comment** reply: `POST /{comment-id}/comments` with `message`.
- **Instagram comment** reply: `POST /{ig-comment-id}/replies` with `message`.
- **Messenger / Instagram direct**: `POST /me/messages` with `recipient.id`, `messaging_type: RESPONSE`.
- **Threads** reply: `POST /{user-id}/threads` (`media_type=TEXT`, `text`, `reply_to_id`) makes a container,
  `POST /{user-id}/threads_publish` (`creation_id`) publishes it.
- **find_posted** (none of these take an idempotency key): the replies under the answered comment or post,
  for one by this account with this text. A direct message cannot be looked up that way and is sent again.
- **Threads token renewal**: before a poll, a check or a send, a long-lived Threads token with less than a week
  left is renewed (`meta_oauth.fresh_threads_credentials`); a refused renewal needs a reconnect.
- **Errors**: Graph's `error.code` 190 (token expired or revoked) needs a reconnect; 4, 17, 32, 613 and 5xx
  are worth retrying; other 4xx are refusals.
"""

from __future__ import annotations

from typing import Any

import httpx

from hubbub.connectors.base import ChannelError, OutboundReply, PollResult, register
from hubbub.connectors.http import shared_client
from hubbub.connectors.meta_oauth import fresh_threads_credentials
from hubbub.connectors.models import Channel, Network
from hubbub.connectors.outbound import PermanentDeliveryError, TransientDeliveryError

GRAPH_URL = "https://graph.facebook.com/v21.0"
THREADS_URL = "https://graph.threads.net/v1.0"
TOKEN_INVALID = 190
RATE_LIMITED = frozenset({4, 17, 32, 613})
NAMES = {"facebook": "Facebook", "instagram": "Instagram", "threads": "Threads"}


class MetaConnector:
    def __init__(self, network: str) -> None:
        self.network = network
        self.name = NAMES[network]

    def check(self, channel: Channel) -> str:
        fields = "id,username" if self.network == Network.THREADS.value else "id,name"
        try:
            me = _call(channel, "GET", "/me", params={"fields": fields})
        except (PermanentDeliveryError, TransientDeliveryError) as exc:
            raise ChannelError(exc.reason, reconnect_needed="connect the account again" in exc.reason) from exc
        return f"{me.get('name') or '@' + str(me.get('username'))} on {self.name}"

    def poll(self, channel: Channel, cursor: dict[str, Any]) -> PollResult:
        """Meta delivers by webhook only: a poll has nothing to read and keeps the cursor. It still renews a
        Threads token near its end, so a channel nobody answers on for weeks stays connected."""
        if self.network == Network.THREADS.value:
            fresh_threads_credentials(channel)
        return PollResult([], dict(cursor))

    def send_reply(self, channel: Channel, reply: OutboundReply) -> str:
        extra = reply.in_reply_to_extra
        if extra.get("messaging"):
            body = {
                "recipient": {"id": str(extra.get("sender_id") or reply.recipient)},
                "messaging_type": "RESPONSE",
                "message": {"text": reply.text},
            }
            return str(_call(channel, "POST", "/me/messages", json=body)["message_id"])
        target = _answered(reply)
        if self.network == Network.THREADS.value:
            user = channel.account_id
            params = {"media_type": "TEXT", "text": reply.text, "reply_to_id": target}
            creation = _call(channel, "POST", f"/{user}/threads", params=params)["id"]
            return str(_call(channel, "POST", f"/{user}/threads_publish", params={"creation_id": creation})["id"])
        edge = "replies" if self.network == Network.INSTAGRAM.value else "comments"
        return str(_call(channel, "POST", f"/{target}/{edge}", params={"message": reply.text})["id"])

    def find_posted(self, channel: Channel, reply: OutboundReply) -> str | None:
        if reply.in_reply_to_extra.get("messaging"):
            return None
        target = _answered(reply)
        if self.network == Network.THREADS.value:
            edge, fields = "replies", "id,text,username"
        elif self.network == Network.INSTAGRAM.value:
            edge, fields = "replies", "id,text,from"
        else:
            edge, fields = "comments", "id,message,from"
        data = _call(channel, "GET", f"/{target}/{edge}", params={"fields": fields})
        me = {channel.account_id, str(channel.credentials.get("username") or "")} - {""}
        for item in data.get("data") or ():
            author = {str((item.get("from") or {}).get("id") or ""), str(item.get("username") or "")}
            text = str(item.get("message") or item.get("text") or "")
            if author & me and reply.text.strip() in text:
                return str(item["id"])
        return None


def _answered(reply: OutboundReply) -> str:
    extra = reply.in_reply_to_extra
    return str(extra.get("comment_id") or extra.get("media_id") or reply.in_reply_to)


def _call(channel: Channel, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    name = NAMES.get(channel.network, channel.network)
    try:  # a Threads token near its end is renewed first
        creds = fresh_threads_credentials(channel) if channel.network == Network.THREADS.value else channel.credentials
    except ChannelError as exc:  # refused (reconnect, for good) or Threads unreachable (try again)
        raise (PermanentDeliveryError if exc.reconnect_needed else TransientDeliveryError)(exc.reason) from exc
    token = str(creds.get("access_token") or "")
    if not token or not channel.account_id:
        raise PermanentDeliveryError(
            f"This {name} channel has no access token or account id: connect the account again."
        )
    default = THREADS_URL if channel.network == Network.THREADS.value else GRAPH_URL
    base = str(creds.get("graph_url") or default).rstrip("/")
    try:
        response = shared_client().request(method, base + path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    except httpx.HTTPError as exc:
        raise TransientDeliveryError(f"Could not reach {name}: {exc}") from exc
    try:
        data: dict[str, Any] = response.json()
    except ValueError:
        data = {}
    if response.status_code < 400:
        return data
    raise _graph_error(name, response, data)


def _graph_error(name: str, response: httpx.Response, data: dict[str, Any]) -> Exception:
    error = data.get("error") if isinstance(data.get("error"), dict) else {}
    code = error.get("code") if isinstance(error, dict) else None
    if code == TOKEN_INVALID or response.status_code == 401:
        return PermanentDeliveryError(
            f"{name} refused the access token (expired or revoked): connect the account again."
        )
    if code in RATE_LIMITED or response.status_code == 429:
        return TransientDeliveryError(f"{name}'s rate limit is used up (code {code}).")
    if response.status_code >= 500:
        return TransientDeliveryError(f"{name} answered HTTP {response.status_code}.")
    return PermanentDeliveryError(f"{name} refused the reply (HTTP {response.status_code}, code {code}).")


for _network in NAMES:
    register(MetaConnector(_network))
