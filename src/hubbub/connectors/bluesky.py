"""Bluesky: mentions and replies in, threaded replies out, through the AT Protocol SDK (`atproto`).

Credentials (`Channel.credentials`): `handle`, `app_password` (an app password, never the account's own),
`service` (the PDS, `https://bsky.social` unless the account lives elsewhere), and what the connector keeps
itself: `did` and `session` (the SDK's session string). Keeping the session spares a `createSession` per poll,
which Bluesky limits to 30 per 5 minutes per account; the SDK refreshes it with `refreshSession` before the
access token expires. A session the PDS refuses anyway (`ExpiredToken`: revoked, or clocks apart) is replaced
by a new login with the app password; when the PDS refuses that too, the channel needs reconnecting.

Inbound: `app.bsky.notification.listNotifications` with reasons `mention` and `reply`, newest first, read up to
the newest post seen (`bluesky_posts.scan_pages`: the cursor, the boundary, a backlog drained over the next
polls). With a `search` query in the credentials (listening: posts about the brand that do not tag it), the
posts `app.bsky.feed.searchPosts` finds are read the same way, with their own cursor (`search`), a new query
reading back `SEARCH_BACKFILL`. A post found both ways is one event: its at-uri.

Outbound: `com.atproto.repo.createRecord` of an `app.bsky.feed.post` whose `reply` holds strong refs (uri + cid)
of the thread's root and of the post answered. Its record key is derived from the reply's idempotency key
(`rkey_for`), so a post that reached the PDS before a worker died cannot be made twice: the record key is
taken, the second create fails, and `getRecord` with that key finds the first post (`find_posted`).
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from atproto_client import Client, models
from atproto_client.client.session import Session, SessionEvent
from atproto_client.exceptions import (
    AtProtocolError,
    BadRequestError,
    InvokeTimeoutError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)
from atproto_client.request import Request, RequestBase

from hubbub.connectors.base import ChannelError, OutboundReply, PollResult, register
from hubbub.connectors.bluesky_posts import Page, grapheme_count, post_event, reply_facets, rkey_for, scan_pages
from hubbub.connectors.events import InboundEvent
from hubbub.connectors.http import shared_client
from hubbub.connectors.models import Channel, Network
from hubbub.connectors.outbound import PermanentDeliveryError, TransientDeliveryError
from hubbub.importreport import Reject, quarantine
from hubbub.outbound_http import OutboundError

DEFAULT_SERVICE = "https://bsky.social"
POST = "app.bsky.feed.post"
REASONS = ["mention", "reply"]
PAGE_SIZE = 100
MAX_PAGES = 10  # per poll; a larger backlog is drained by the next polls
SEARCH_BACKFILL = timedelta(days=1)  # how far back a new search query reads
MAX_GRAPHEMES = 300  # app.bsky.feed.post#text maxGraphemes
_SESSION_REFUSED = {"ExpiredToken", "InvalidToken", "AuthenticationRequired"}
T = TypeVar("T")


class PolicyRequest(Request):
    """atproto's synchronous `Request` over Hubbub's outbound client instead of its own `httpx.Client`, so every
    XRPC call obeys the address policy, timeouts and size limit (`hubbub.outbound_http`; the process's shared
    one, `connectors.http`: the SDK never closes it, as nothing here calls `close`). It also keeps the
    headers of the last answer, where the PDS states the rate-limit budget (`ratelimit-remaining`/`-reset`)."""

    def __init__(self) -> None:
        RequestBase.__init__(self)
        self._client_kwargs: dict[str, Any] = {}
        self._client = shared_client()
        self.last_headers: httpx.Headers = httpx.Headers()

    def _new_instance(self) -> PolicyRequest:
        return type(self)()

    def _send_request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = super()._send_request(method, url, **kwargs)
        self.last_headers = response.headers
        return response


def _xrpc_error(exc: AtProtocolError) -> tuple[str, str]:
    """The XRPC error name and message of a failed call (`ExpiredToken`, `Token has expired`), or empty."""
    response = getattr(exc, "response", None)
    content = getattr(response, "content", None)
    return str(getattr(content, "error", "") or ""), str(getattr(content, "message", "") or "")[:200]


def _reset_at(exc: AtProtocolError | None, headers: Mapping[str, Any]) -> datetime | None:
    if exc is not None:
        headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    raw = str(headers.get("ratelimit-reset", "") or "")
    return datetime.fromtimestamp(int(raw), UTC) if raw.isdigit() else None


@contextlib.contextmanager
def _channel_errors(handle: str) -> Iterator[None]:
    """Turn what the SDK and the outbound client raise into a `ChannelError` in the admin's words."""
    try:
        yield
    except RateLimitExceededError as exc:
        reset = _reset_at(exc, {})
        wait = max(1.0, (reset - datetime.now(UTC)).total_seconds()) if reset else 60.0
        raise ChannelError(
            f"Bluesky's rate limit for @{handle} is used up; polling resumes in {wait:.0f} s.",
            retry_after=wait,
            rate_limited=True,
        ) from exc
    except UnauthorizedError as exc:
        raise ChannelError(
            f"Bluesky no longer accepts the session of @{handle}: connect the account again.", reconnect_needed=True
        ) from exc
    except (InvokeTimeoutError, NetworkError) as exc:
        raise ChannelError(f"Could not reach Bluesky for @{handle}: the connection failed or timed out.") from exc
    except OutboundError as exc:
        raise ChannelError(f"Could not reach Bluesky for @{handle}: {exc}") from exc
    except RequestErrorBase as exc:
        status = getattr(getattr(exc, "response", None), "status_code", "?")
        name, _ = _xrpc_error(exc)
        raise ChannelError(f"Bluesky answered HTTP {status} {name} for @{handle}; the next poll tries again.") from exc


def _delivery_error(exc: Exception) -> Exception:
    """The delivery error for a failed `createRecord`: worth retrying (429, 5xx, network) or not (4xx)."""
    if isinstance(exc, RateLimitExceededError):
        reset = _reset_at(exc, {})
        wait = max(1.0, (reset - datetime.now(UTC)).total_seconds()) if reset else None
        return TransientDeliveryError("Bluesky's rate limit is used up; the reply is sent when it resets.", wait)
    if isinstance(exc, ChannelError):
        return PermanentDeliveryError(exc.reason)
    if isinstance(exc, BadRequestError | UnauthorizedError):
        name, message = _xrpc_error(exc)
        return PermanentDeliveryError(f"Bluesky refused the reply: {name or 'error'}: {message}".rstrip(": "))
    if isinstance(exc, OutboundError):
        return TransientDeliveryError(f"Could not reach Bluesky: {exc}")
    return TransientDeliveryError("Could not reach Bluesky (the connection failed, timed out or the PDS failed).")


class BlueskyConnector:
    network = Network.BLUESKY.value

    # ------------------------------------------------------------------ session
    def client(self, channel: Channel) -> Client:
        """A logged-in SDK client for the channel's account; the session is reused and kept fresh."""
        creds = channel.credentials
        client = Client(base_url=creds.get("service") or DEFAULT_SERVICE, request=PolicyRequest())
        client.on_session_change(lambda event, session: _store_session(channel, event, session))
        handle = str(creds.get("handle", ""))
        with _channel_errors(handle):
            try:
                client.login(session_string=creds["session"], fetch_bsky_profile=False)  # no request: a stored session
            except (KeyError, ValueError):  # none yet, or one this SDK version cannot read: log in afresh
                self._login(client, channel)
        return client

    def _login(self, client: Client, channel: Channel) -> None:
        creds = channel.credentials
        handle = str(creds.get("handle", ""))
        if not creds.get("app_password"):
            raise ChannelError(
                f"No app password is stored for @{handle}: connect the account again.", reconnect_needed=True
            )
        try:
            client.login(handle, creds["app_password"], fetch_bsky_profile=False)
        except UnauthorizedError as exc:
            raise ChannelError(
                f"Bluesky refused the app password of @{handle} (revoked or changed): connect the account again "
                "with a new app password (Bluesky → Settings → Privacy and security → App passwords).",
                reconnect_needed=True,
            ) from exc

    def _call(self, channel: Channel, client: Client, fn: Callable[[], T]) -> T:
        """Make one XRPC call; when the PDS refuses the session (`ExpiredToken`), log in again once and retry."""
        try:
            return fn()
        except (BadRequestError, UnauthorizedError) as exc:
            if _xrpc_error(exc)[0] not in _SESSION_REFUSED:
                raise
        self._login(client, channel)
        return fn()

    def check(self, channel: Channel) -> str:
        client = self.client(channel)
        with _channel_errors(str(channel.credentials.get("handle", ""))):
            session = self._call(channel, client, lambda: client.com.atproto.server.get_session())
        return f"@{session.handle} on Bluesky ({httpx.URL(channel.credentials.get('service') or DEFAULT_SERVICE).host})"

    # ------------------------------------------------------------------ inbound
    def poll(self, channel: Channel, cursor: dict[str, Any]) -> PollResult:
        """Mentions and replies (`listNotifications`), and with a `search` query in the credentials the posts
        that match it (`searchPosts`, for listening): a post found both ways is one event (its at-uri)."""
        client = self.client(channel)
        query = str(channel.credentials.get("search") or "").strip()
        with _channel_errors(str(channel.credentials.get("handle", ""))):
            notes, state = scan_pages(functools.partial(self._notifications, channel, client), cursor, MAX_PAGES)
            found = [(note, note.reason) for note in notes if note.reason in REASONS]
            if query:
                old = cursor.get("search") or {}
                fetch = functools.partial(self._search, channel, client, query)
                floor = datetime.now(UTC) - SEARCH_BACKFILL
                posts, searched = scan_pages(fetch, old if old.get("q") == query else {}, MAX_PAGES, floor)
                state["search"] = {**searched, "q": query}
                found += [(post, "search") for post in posts]
        events = self._events(channel, found)
        headers = client.request.last_headers if isinstance(client.request, PolicyRequest) else {}
        remaining = str(headers.get("ratelimit-remaining", "") or "")
        budget = int(remaining) if remaining.isdigit() else None
        backlog = bool(state.get("cursor") or (state.get("search") or {}).get("cursor"))  # a page limit was hit
        return PollResult(events, state, budget, _reset_at(None, headers), backlog=backlog)

    def _notifications(self, channel: Channel, client: Client, page_cursor: str | None) -> Page:
        params = models.AppBskyNotificationListNotifications.Params(
            limit=PAGE_SIZE, cursor=page_cursor, reasons=REASONS
        )
        page = self._call(channel, client, functools.partial(client.app.bsky.notification.list_notifications, params))
        return list(page.notifications), page.cursor

    def _search(self, channel: Channel, client: Client, query: str, page_cursor: str | None) -> Page:
        params = models.AppBskyFeedSearchPosts.Params(q=query, sort="latest", limit=PAGE_SIZE, cursor=page_cursor)
        page = self._call(channel, client, functools.partial(client.app.bsky.feed.search_posts, params))
        return list(page.posts), page.cursor

    def _events(self, channel: Channel, found: list[tuple[Any, str]]) -> list[InboundEvent]:
        """Each post as an event; one that is not a readable post goes to the quarantine with why."""
        events, rejects = [], []
        for item, reason in found:
            try:
                events.append(post_event(item, reason, channel.brand.slug))
            except ValueError as exc:
                raw = json.dumps(item.model_dump(mode="json", by_alias=True), default=str)[:20000]
                rejects.append(Reject(channel.organization_id, "bluesky", str(item.uri)[:200], str(exc), raw))
        quarantine(rejects)
        return events

    # ------------------------------------------------------------------ outbound
    def send_reply(self, channel: Channel, reply: OutboundReply) -> str:
        count = grapheme_count(reply.text)
        if count > MAX_GRAPHEMES:
            raise PermanentDeliveryError(f"Too long for Bluesky: {count} characters, the limit is {MAX_GRAPHEMES}.")
        parent = _strong_ref(reply.in_reply_to, reply.in_reply_to_extra.get("cid"))
        root_extra = reply.in_reply_to_extra.get("root") or {}
        root = _strong_ref(root_extra.get("uri"), root_extra.get("cid")) if root_extra else parent
        try:
            client = self.client(channel)
        except ChannelError as exc:
            raise _delivery_error(exc) from exc
        did, rkey = str(channel.credentials.get("did", "")), rkey_for(reply.idempotency_key)
        record = models.AppBskyFeedPost.Record(
            text=reply.text,
            created_at=client.get_current_time_iso(),
            reply=models.AppBskyFeedPost.ReplyRef(root=root, parent=parent),
            facets=reply_facets(reply.text, reply.in_reply_to_extra.get("author") or {}) or None,
        )
        data = models.ComAtprotoRepoCreateRecord.Data(repo=did, collection=POST, rkey=rkey, record=record)
        try:
            return self._call(channel, client, lambda: client.com.atproto.repo.create_record(data)).uri
        except (AtProtocolError, OutboundError, ChannelError) as exc:
            # A taken record key (an earlier attempt got through) fails the create: that post is the reply.
            posted = self._posted(channel, client, did, rkey)
            if posted:
                return posted
            raise _delivery_error(exc) from exc

    def find_posted(self, channel: Channel, reply: OutboundReply) -> str | None:
        try:
            client = self.client(channel)
        except ChannelError as exc:
            raise _delivery_error(exc) from exc
        did = str(channel.credentials.get("did", ""))
        posted = self._posted(channel, client, did, rkey_for(reply.idempotency_key), raise_errors=True)
        return posted

    def _posted(self, channel: Channel, client: Client, did: str, rkey: str, raise_errors: bool = False) -> str | None:
        params = models.ComAtprotoRepoGetRecord.Params(repo=did, collection=POST, rkey=rkey)
        try:
            return str(self._call(channel, client, lambda: client.com.atproto.repo.get_record(params)).uri)
        except BadRequestError as exc:
            if _xrpc_error(exc)[0] == "RecordNotFound":
                return None
            if raise_errors:
                raise _delivery_error(exc) from exc
        except (AtProtocolError, OutboundError, ChannelError) as exc:
            if raise_errors:
                raise _delivery_error(exc) from exc
        return None


def _store_session(channel: Channel, event: SessionEvent, session: Session) -> None:
    """Keep a new or refreshed session (and the account's did) in the channel's encrypted credentials."""
    if event == SessionEvent.IMPORT:
        return
    creds = channel.credentials
    creds.update(session=session.encode(), did=session.did)
    channel.credentials = creds
    if channel.pk:
        channel.save(update_fields=["credentials_encrypted"])


def _strong_ref(uri: Any, cid: Any) -> models.ComAtprotoRepoStrongRef.Main:
    if not uri or not cid:
        raise PermanentDeliveryError(
            "The post answered has no Bluesky reference (uri and cid) on record, so the reply cannot be threaded."
        )
    return models.ComAtprotoRepoStrongRef.Main(uri=str(uri), cid=str(cid))


register(BlueskyConnector())
