"""Mastodon: mentions of the brand's account come in as notifications; replies go out as statuses.

The client is Mastodon.py on a `requests` session from `outbound_http.outbound_session()` (the SSRF policy:
an instance URL is a URL a user gave us). Credentials: `{"base_url": ..., "access_token": ...}`.

- **Inbound.** `GET /api/v1/notifications?types[]=mention&min_id=<cursor>`: `min_id` walks forward from the
  last notification seen, page after page, without the gap that paging back from the newest would leave when
  more arrived than one poll reads; what is left is read by the next poll. The first poll takes the newest page.
- **Ids.** A status id is only unique on the instance that gave it (the same toot has another id on another
  instance), so Hubbub's external ids are `<instance host>:<id>`, and threading by `in_reply_to` stays within
  one instance.
- **Outbound.** `POST /api/v1/statuses` answering the customer's status, at the customer's visibility (a
  direct message is answered directly, never in public), mentioning them so they are notified, with the reply's
  idempotency key as `Idempotency-Key`: Mastodon answers a repeated key with the status it already made, so a
  retry after a crash cannot post twice. `find_posted` also looks through the account's recent statuses.
- **Errors.** 401 means the token was revoked or expired: reconnect needed. 429 waits for the
  `X-RateLimit-Reset` the server sent. Nothing the server wrote is shown: reasons are ours.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from hubbub.connectors.base import ChannelError, OutboundReply, PollResult, register
from hubbub.connectors.events import InboundEvent
from hubbub.connectors.html_text import html_to_text
from hubbub.connectors.models import Channel, Network
from hubbub.connectors.outbound import PermanentDeliveryError, TransientDeliveryError
from hubbub.outbound_http import OutboundError, outbound_session

PAGE = 40
MAX_PAGES_PER_POLL = 10
RECENT_STATUSES = 40
# Mastodon's tokens are URL-safe base64. Mastodon.py reads a token that names an existing file from that file,
# so anything else, and any token that is also a file name here, is refused before it reaches the library.
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{8,256}")
VISIBILITIES = ("public", "unlisted", "private", "direct")


class MastodonConnector:
    network = Network.MASTODON.value

    def check(self, channel: Channel) -> str:
        api, host = _client(channel)
        me = _call(api, api.account_verify_credentials)
        return f"@{me.acct} on {host}"

    def poll(self, channel: Channel, cursor: dict[str, Any]) -> PollResult:
        api, host = _client(channel)
        since = str(cursor.get("since_id") or "")
        notes: list[Any] = []
        backlog = False
        for _ in range(MAX_PAGES_PER_POLL):
            # the first poll takes the newest page only, not the account's whole history
            after = {"min_id": since} if since else {}
            page = [n for n in _call(api, lambda a=after: api.notifications(types=["mention"], limit=PAGE, **a))]
            page = [n for n in page if n.get("status")]
            if page:
                notes.extend(page)
                since = str(max((n.id for n in page), key=_id_order))
            if len(page) < PAGE or not cursor.get("since_id"):
                break
        else:  # every page was full: more is waiting than one poll reads
            backlog = True
        events = [_event(n, host) for n in notes]
        new_cursor = {"since_id": since} if since else dict(cursor)
        return PollResult(events, new_cursor, *_budget(api), backlog=backlog)

    def send_reply(self, channel: Channel, reply: OutboundReply) -> str:
        api, host = _client(channel, delivery=True)
        status_id = _local_id(reply.in_reply_to, reply.in_reply_to_extra)
        visibility = str(reply.in_reply_to_extra.get("visibility") or "public")
        posted = _deliver(
            lambda: api.status_post(
                _with_mention(reply),
                in_reply_to_id=status_id or None,
                visibility=visibility if visibility in VISIBILITIES else "public",
                idempotency_key=reply.idempotency_key,
            ),
            api,
        )
        return f"{host}:{posted.id}"

    def find_posted(self, channel: Channel, reply: OutboundReply) -> str | None:
        api, host = _client(channel, delivery=True)
        me = _deliver(api.account_verify_credentials, api)
        recent = _deliver(lambda: api.account_statuses(me.id, limit=RECENT_STATUSES), api)
        answered = _local_id(reply.in_reply_to, reply.in_reply_to_extra)
        for status in recent:
            same_parent = str(status.get("in_reply_to_id") or "") == answered
            if same_parent and reply.text.strip() in html_to_text(status.content):
                return f"{host}:{status.id}"
        return None


def _client(channel: Channel, delivery: bool = False) -> tuple[Mastodon, str]:
    """Mastodon.py for the channel's account. Throws on rate limits (never sleeps in a worker); the version
    check is off, so no request is made before the first real one."""
    creds = channel.credentials
    base_url = str(creds.get("base_url") or "").rstrip("/")
    token = str(creds.get("access_token") or "")
    if not base_url or not _TOKEN.fullmatch(token) or os.path.exists(token):
        reason = "This channel has no valid instance URL and access token: connect the account again."
        if delivery:
            raise PermanentDeliveryError(reason)
        raise ChannelError(reason, reconnect_needed=True)
    api = Mastodon(
        api_base_url=base_url,
        access_token=token,
        session=outbound_session(),
        ratelimit_method="throw",
        version_check_mode="none",
        request_timeout=10,
    )
    return api, urlsplit(base_url).netloc


def _call(api: Mastodon, request: Any) -> Any:
    """Run one polling request; every failure becomes a ChannelError with a reason of ours."""
    try:
        return request()
    except MastodonUnauthorizedError as exc:
        raise ChannelError(
            "Mastodon refused the access token (401): it was revoked or has expired. Connect the account again.",
            reconnect_needed=True,
        ) from exc
    except MastodonRatelimitError as exc:
        raise ChannelError(
            "Mastodon's rate limit is used up; polling waits for it to reset.",
            retry_after=_retry_after(api),
            rate_limited=True,
        ) from exc
    except MastodonNetworkError as exc:
        raise ChannelError(_network_reason(exc)) from exc
    except MastodonAPIError as exc:
        raise ChannelError(f"Mastodon answered HTTP {_status_code(exc)}.") from exc
    except MastodonError as exc:
        raise ChannelError(f"Mastodon's answer could not be read ({type(exc).__name__}).") from exc


def _deliver(request: Any, api: Mastodon) -> Any:
    """Run one delivery request: transient or permanent errors for `inbox.actions.delivery`."""
    try:
        return request()
    except MastodonUnauthorizedError as exc:
        raise PermanentDeliveryError(
            "Mastodon refused the access token (401): connect the account again, then retry."
        ) from exc
    except MastodonRatelimitError as exc:
        raise TransientDeliveryError("Mastodon's rate limit is used up.", retry_after=_retry_after(api)) from exc
    except MastodonNetworkError as exc:
        raise TransientDeliveryError(_network_reason(exc)) from exc
    except MastodonServerError as exc:
        raise TransientDeliveryError(f"Mastodon answered HTTP {_status_code(exc)}.") from exc
    except MastodonNotFoundError as exc:
        raise PermanentDeliveryError("The post this answers is gone from Mastodon (404).") from exc
    except MastodonAPIError as exc:
        raise PermanentDeliveryError(f"Mastodon refused the reply (HTTP {_status_code(exc)}).") from exc
    except MastodonError as exc:
        raise TransientDeliveryError(f"Mastodon's answer could not be read ({type(exc).__name__}).") from exc


def _status_code(exc: MastodonError) -> str:
    return str(exc.args[1]) if len(exc.args) > 1 else "error"


def _network_reason(exc: MastodonNetworkError) -> str:
    """Why the server could not be reached, in words safe to show (the outbound client's own, never a body)."""
    cause = exc.__context__
    while cause is not None and not isinstance(cause, OutboundError):
        cause = cause.__context__
    return f"Could not reach the Mastodon server: {cause}" if cause else "Could not reach the Mastodon server."


def _retry_after(api: Mastodon) -> float | None:
    reset = getattr(api, "ratelimit_reset", None)
    return max(0.0, float(reset) - time.time()) if reset else None


def _budget(api: Mastodon) -> tuple[int | None, datetime | None]:
    """The rate-limit budget the last answer announced (Mastodon.py keeps it from the X-RateLimit headers)."""
    reset = getattr(api, "ratelimit_reset", None)
    remaining = getattr(api, "ratelimit_remaining", None)
    return (int(remaining) if remaining is not None else None), (
        datetime.fromtimestamp(float(reset), UTC) if reset else None
    )


def _id_order(status_id: Any) -> tuple[int, str]:
    text = str(status_id)
    return len(text), text  # numeric strings compare by length, then digits


def _local_id(external_id: str, extra: dict[str, Any]) -> str:
    return str(extra.get("status_id") or external_id.rpartition(":")[2])


def _with_mention(reply: OutboundReply) -> str:
    """Mastodon notifies the people a status names: the customer is named first unless the agent already did."""
    acct = str(reply.in_reply_to_extra.get("acct") or reply.recipient).lstrip("@")
    if not acct or f"@{acct}".lower() in reply.text.lower():
        return reply.text
    return f"@{acct} {reply.text}"


def _event(note: Any, host: str) -> InboundEvent:
    status, account = note.status, note.account
    acct = str(account.acct)
    full_acct = acct if "@" in acct else f"{acct}@{host}"
    text = html_to_text(status.content)
    if status.get("spoiler_text"):
        text = f"CW: {status.spoiler_text}\n{text}"
    created = status.created_at
    return InboundEvent(
        network=Network.MASTODON.value,
        external_id=f"{host}:{status.id}",
        text=text,
        created_at=created.astimezone(UTC) if created.tzinfo else created.replace(tzinfo=UTC),
        author_id=full_acct,
        author_name=str(account.get("display_name") or acct),
        author_handle=full_acct,
        author_followers=int(account.get("followers_count") or 0),
        in_reply_to=f"{host}:{status.in_reply_to_id}" if status.get("in_reply_to_id") else "",
        url=str(status.get("url") or status.get("uri") or ""),
        lang=str(status.get("language") or ""),
        retweets=int(status.get("reblogs_count") or 0),
        likes=int(status.get("favourites_count") or 0),
        extra={
            "status_id": str(status.id),
            "visibility": str(status.get("visibility") or "public"),
            "acct": acct,
            "uri": str(status.get("uri") or ""),
        },
    )


register(MastodonConnector())
