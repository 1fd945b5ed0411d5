"""X (Twitter): mentions by webhook (`ingest.webhook_views`) or, for accounts without one, by polling API v2;
replies as tweets answering the customer's.

Credentials: `access_token` (an OAuth 2.0 user token with `tweet.read tweet.write users.read dm.write`),
`user_id` (also the channel's `account_id`, which webhook deliveries name as `for_user_id`) and optionally
`api_url` (default `https://api.x.com`; a proxy or a test fake). An account connected with "Connect X account"
(`x_oauth`) also has `refresh_token` and `expires_at`: its token is renewed before a request when it expires
within minutes. Every request goes through the outbound client.

- **In.** `GET /2/users/:id/mentions` with `since_id` = the newest mention seen, `expansions=author_id` and the
  tweet and user fields below, 100 a page, newest first. Pages are followed by `pagination_token` down to
  `since_id`; more than `MAX_PAGES` pages is a backlog: the cursor keeps the page token and the newest id, and
  the next polls drain it before `since_id` moves, so nothing is skipped. `x-rate-limit-remaining` /
  `x-rate-limit-reset` are the channel's budget; a 429 waits for the reset; a 401 needs a reconnect.
- **Out.** `POST /2/tweets` with `reply.in_reply_to_tweet_id`; a direct message is answered with
  `POST /2/dm_conversations/with/:participant_id/messages`. X has no idempotency key, so `find_posted` reads
  the account's recent tweets (`GET /2/users/:id/tweets`) for one replying to that tweet with that text.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx

from hubbub.connectors.base import ChannelError, OutboundReply, PollResult, register
from hubbub.connectors.events import InboundEvent
from hubbub.connectors.http import shared_client
from hubbub.connectors.models import Channel, Network
from hubbub.connectors.outbound import PermanentDeliveryError, TransientDeliveryError
from hubbub.connectors.x_events import v2_tweet_event
from hubbub.connectors.x_oauth import fresh_credentials
from hubbub.outbound_http import OutboundError

DEFAULT_API = "https://api.x.com"
PAGE = 100
MAX_PAGES = 10
RECENT_TWEETS = 100
TWEET_FIELDS = "created_at,conversation_id,in_reply_to_user_id,lang,referenced_tweets,public_metrics"
USER_FIELDS = "username,name,public_metrics"


class XConnector:
    network = Network.X.value

    def check(self, channel: Channel) -> str:
        me = _poll_call(channel, "GET", "/2/users/me")[0]["data"]
        return f"@{me['username']} on X"

    def poll(self, channel: Channel, cursor: dict[str, Any]) -> PollResult:
        user_id = _user_id(channel)
        since = str(cursor.get("since_id") or "")
        token = str(cursor.get("next_token") or "")
        newest = str(cursor.get("newest_id") or "")
        events: list[InboundEvent] = []
        budget: tuple[int | None, datetime | None] = (None, None)
        for _ in range(MAX_PAGES):
            params = {
                "max_results": PAGE,
                "expansions": "author_id",
                "tweet.fields": TWEET_FIELDS,
                "user.fields": USER_FIELDS,
            }
            params.update({"since_id": since} if since else {})
            params.update({"pagination_token": token} if token else {})
            data, budget = _poll_call(channel, "GET", f"/2/users/{user_id}/mentions", params=params)
            users = {str(u["id"]): u for u in (data.get("includes") or {}).get("users") or ()}
            events.extend(v2_tweet_event(t, users, user_id) for t in data.get("data") or ())
            meta = data.get("meta") or {}
            newest = newest or str(meta.get("newest_id") or "")
            token = str(meta.get("next_token") or "")
            if not token or not since:  # the first poll reads the newest page only
                break
        if token and since:  # a backlog: keep reading it next time before since_id moves on
            new_cursor = {"since_id": since, "next_token": token, "newest_id": newest}
        else:
            new_cursor = {"since_id": newest or since} if (newest or since) else {}
        return PollResult(events, new_cursor, *budget, backlog="next_token" in new_cursor)

    def send_reply(self, channel: Channel, reply: OutboundReply) -> str:
        extra = reply.in_reply_to_extra
        if extra.get("dm"):
            participant = str(extra.get("sender_id") or "")
            path = f"/2/dm_conversations/with/{participant}/messages"
            data = _deliver(channel, "POST", path, json={"text": reply.text})
            return f"dm:{data['data']['dm_event_id']}"
        tweet_id = str(extra.get("tweet_id") or reply.in_reply_to)
        body: dict[str, Any] = {"text": reply.text, "reply": {"in_reply_to_tweet_id": tweet_id}}
        return str(_deliver(channel, "POST", "/2/tweets", json=body)["data"]["id"])

    def find_posted(self, channel: Channel, reply: OutboundReply) -> str | None:
        if reply.in_reply_to_extra.get("dm"):
            return None  # X lists DM events only per conversation; a DM is retried (see docs/channels.md)
        answered = str(reply.in_reply_to_extra.get("tweet_id") or reply.in_reply_to)
        params = {"max_results": RECENT_TWEETS, "tweet.fields": "referenced_tweets,created_at"}
        data = _deliver(channel, "GET", f"/2/users/{_user_id(channel)}/tweets", params=params)
        for tweet in data.get("data") or ():
            parents = {str(r.get("id")) for r in tweet.get("referenced_tweets") or () if r.get("type") == "replied_to"}
            if answered in parents and reply.text.strip() in str(tweet.get("text") or ""):
                return str(tweet["id"])
        return None


def _user_id(channel: Channel) -> str:
    return str(channel.account_id or channel.credentials.get("user_id") or "")


def _request(channel: Channel, method: str, path: str, **kwargs: Any) -> httpx.Response:
    creds = fresh_credentials(channel)  # renewed first when it expires within minutes (Connect X account)
    token = str(creds.get("access_token") or "")
    if not token or not _user_id(channel):
        raise _NoCredentials()
    base = str(creds.get("api_url") or DEFAULT_API).rstrip("/")
    return shared_client().request(method, base + path, headers={"Authorization": f"Bearer {token}"}, **kwargs)


class _NoCredentials(Exception):
    reason = "This X channel has no access token or user id: connect the account again."


def _retry_after(response: httpx.Response) -> float | None:
    reset = response.headers.get("x-rate-limit-reset")
    return max(0.0, float(reset) - time.time()) if reset and reset.isdigit() else None


def _budget(response: httpx.Response) -> tuple[int | None, datetime | None]:
    remaining = response.headers.get("x-rate-limit-remaining")
    reset = response.headers.get("x-rate-limit-reset")
    return (
        int(remaining) if remaining and remaining.isdigit() else None,
        datetime.fromtimestamp(int(reset), UTC) if reset and reset.isdigit() else None,
    )


def _poll_call(channel: Channel, method: str, path: str, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    """One polling request: its JSON and the rate-limit budget, or a ChannelError with a reason of ours."""
    try:
        response = _request(channel, method, path, **kwargs)
    except _NoCredentials as exc:
        raise ChannelError(exc.reason, reconnect_needed=True) from exc
    except OutboundError as exc:
        raise ChannelError(f"Could not reach X: {exc}") from exc
    except httpx.HTTPError as exc:
        raise ChannelError(f"Could not reach X ({type(exc).__name__}).") from exc
    if response.status_code == 401:
        raise ChannelError(
            "X refused the access token (401): it was revoked or has expired. Connect the account again.",
            reconnect_needed=True,
        )
    if response.status_code == 429:
        raise ChannelError(
            "X's rate limit is used up; polling waits for it to reset.",
            retry_after=_retry_after(response),
            rate_limited=True,
        )
    if response.status_code >= 400:
        raise ChannelError(f"X answered HTTP {response.status_code}.")
    try:
        return response.json(), _budget(response)
    except ValueError as exc:
        raise ChannelError("X's answer could not be read (not JSON).") from exc


def _deliver(channel: Channel, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """One delivery request: transient (network, 429, 5xx) or permanent (other 4xx) errors for the inbox."""
    try:
        response = _request(channel, method, path, **kwargs)
    except _NoCredentials as exc:
        raise PermanentDeliveryError(exc.reason) from exc
    except ChannelError as exc:  # the token could not be renewed: refused (reconnect) or X unreachable
        raise (PermanentDeliveryError if exc.reconnect_needed else TransientDeliveryError)(exc.reason) from exc
    except httpx.HTTPError as exc:
        raise TransientDeliveryError(f"Could not reach X: {exc}") from exc
    status = response.status_code
    if status == 401:
        raise PermanentDeliveryError("X refused the access token (401): connect the account again, then retry.")
    if status == 429:
        raise TransientDeliveryError("X's rate limit is used up.", retry_after=_retry_after(response))
    if status >= 500:
        raise TransientDeliveryError(f"X answered HTTP {status}.")
    if status == 403:
        raise PermanentDeliveryError("X refused the reply (403): a duplicate, or the account may not post it.")
    if status >= 400:
        raise PermanentDeliveryError(f"X refused the reply (HTTP {status}).")
    try:
        data: dict[str, Any] = response.json()
    except ValueError as exc:
        raise TransientDeliveryError("X's answer could not be read (not JSON).") from exc
    return data


register(XConnector())
