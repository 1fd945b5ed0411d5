"""Bluesky: mentions and replies in, threaded replies out, through the AT Protocol SDK (`atproto`).

Credentials (`Channel.credentials`): `handle`, `app_password` (an app password, never the account's own),
`service` (the PDS, `https://bsky.social` unless the account lives elsewhere), and what the connector keeps
itself: `did` and `session` (the SDK's session string). Keeping the session spares a `createSession` per poll,
which Bluesky limits to 30 per 5 minutes per account; the SDK refreshes it with `refreshSession` before the
access token expires. A session the PDS refuses anyway (`ExpiredToken`: revoked, or clocks apart) is replaced
by a new login with the app password; when the PDS refuses that too, the channel needs reconnecting.

Inbound: `app.bsky.notification.listNotifications` with reasons `mention` and `reply`, newest first. A poll
reads pages until it reaches a notification older than the newest one seen (`seen_at` in the cursor); the
posts at that very time are read again and skipped (`boundary`), and ingest's idempotency on the at-uri covers
the rest. A backlog larger than
`MAX_PAGES` is drained over the next polls (`cursor` + `backlog_until`), so nothing in it is skipped.

Outbound: `com.atproto.repo.createRecord` of an `app.bsky.feed.post` whose `reply` holds strong refs (uri + cid)
of the thread's root and of the post answered. Its record key is derived from the reply's idempotency key
(`rkey_for`), so a post that reached the PDS before a worker died cannot be made twice: the record key is
taken, the second create fails, and `getRecord` with that key finds the first post (`find_posted`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
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
from atproto_client.utils import detect_facets, detect_mentions

from hubbub.connectors.base import ChannelError, OutboundReply, PollResult, register
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
MAX_BOUNDARY = 100  # at-uris kept of the posts indexed at the newest time seen
MAX_GRAPHEMES = 300  # app.bsky.feed.post#text maxGraphemes
_SESSION_REFUSED = {"ExpiredToken", "InvalidToken", "AuthenticationRequired"}
_B32 = "234567abcdefghijklmnopqrstuvwxyz"  # the TID alphabet (base32-sortable)
_RKEY_FROM = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
_RKEY_SPAN = 2 * 365 * 86400 * 1_000_000
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


def rkey_for(idempotency_key: str) -> str:
    """A TID-shaped record key (13 base32-sortable characters) that is a function of the idempotency key alone.

    Its time part is a hash spread over 2023–2024 rather than the sending time, so every attempt at the same
    reply names the same record; Bluesky orders posts by `createdAt`, not by record key, so nothing shows it."""
    digest = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:8], "big")
    value = ((_RKEY_FROM + digest % _RKEY_SPAN) << 10) | (digest >> 54)
    return "".join(_B32[(value >> shift) & 31] for shift in range(60, -5, -5))


def grapheme_count(text: str) -> int:
    """User-perceived characters, as Bluesky counts its 300-character limit: combining marks, emoji modifiers,
    variation selectors and zero-width-joined sequences add nothing, a regional-indicator pair (a flag) is one.
    Close to Unicode's extended grapheme clusters for the text people write, without a dependency."""
    count, joined, flag_half = 0, False, False
    for char in text:
        code = ord(char)
        if joined or code == 0x200D:
            joined = code == 0x200D
            continue
        if unicodedata.category(char) in ("Mn", "Mc", "Me") or 0x1F3FB <= code <= 0x1F3FF or 0xFE00 <= code <= 0xFE0F:
            continue
        if 0x1F1E6 <= code <= 0x1F1FF:
            flag_half = not flag_half
            if not flag_half:
                continue
        count += 1
    return count


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
            f"Bluesky's rate limit for @{handle} is used up; polling resumes in {wait:.0f} s.", retry_after=wait
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
            if creds.get("session"):
                client.login(session_string=creds["session"], fetch_bsky_profile=False)  # no request: a stored session
            else:
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
        client = self.client(channel)
        with _channel_errors(str(channel.credentials.get("handle", ""))):
            notifications, state = self._read_pages(channel, client, cursor)
        events = self._events(channel, notifications)
        headers = client.request.last_headers if isinstance(client.request, PolicyRequest) else {}
        remaining = str(headers.get("ratelimit-remaining", "") or "")
        return PollResult(events, state, int(remaining) if remaining.isdigit() else None, _reset_at(None, headers))

    def _read_pages(self, channel: Channel, client: Client, cursor: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """Notifications newer than the last seen (or the rest of an unfinished backlog), and the next cursor.

        The posts indexed at the newest time seen (`boundary`) are read again by the next poll, since a post
        indexed in the same millisecond may arrive after it; they are skipped rather than handed on twice."""
        backlog = bool(cursor.get("cursor"))
        page_cursor = cursor.get("cursor") if backlog else None
        stop = _parse_time(cursor.get("backlog_until") if backlog else cursor.get("seen_at"))
        newest = _parse_time(cursor.get("seen_at"))
        boundary = set() if backlog else set(cursor.get("boundary") or [])
        at_newest: list[str] = list(cursor.get("boundary") or [])
        found: list[Any] = []
        for _ in range(MAX_PAGES):
            params = models.AppBskyNotificationListNotifications.Params(
                limit=PAGE_SIZE, cursor=page_cursor, reasons=REASONS
            )
            page = self._call(
                channel, client, functools.partial(client.app.bsky.notification.list_notifications, params)
            )
            reached = False
            for note in page.notifications:
                indexed = _parse_time(note.indexed_at)
                if stop is not None and indexed is not None and indexed < stop:
                    reached = True
                    break
                if indexed is not None and (newest is None or indexed > newest):
                    newest, at_newest = indexed, []
                if indexed is not None and indexed == newest and note.uri not in at_newest:
                    at_newest.append(note.uri)
                if not (indexed == stop and note.uri in boundary):
                    found.append(note)
            page_cursor = page.cursor
            if reached or not page_cursor:
                return found, {"seen_at": _iso(newest), "boundary": at_newest[:MAX_BOUNDARY], "cursor": None}
        state = {"seen_at": _iso(newest), "boundary": at_newest[:MAX_BOUNDARY], "cursor": page_cursor}
        return found, {**state, "backlog_until": _iso(stop)}

    def _events(self, channel: Channel, notifications: list[Any]) -> list[InboundEvent]:
        """Each mention or reply as an event; one that is not a readable post goes to the quarantine with why."""
        events, rejects = [], []
        for note in notifications:
            if note.reason not in REASONS:
                continue
            try:
                events.append(_event(channel, note))
            except ValueError as exc:
                raw = json.dumps(note.model_dump(mode="json", by_alias=True), default=str)[:20000]
                rejects.append(Reject(channel.organization_id, "bluesky", str(note.uri)[:200], str(exc), raw))
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
            facets=_facets(reply.text, reply.in_reply_to_extra.get("author") or {}) or None,
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


def _facets(text: str, author: dict[str, Any]) -> list[models.AppBskyRichtextFacet.Main]:
    """Links and #tags as the Bluesky app makes them, and a mention facet for the customer answered (whose did
    we know); other @handles stay plain text rather than cost a lookup per reply."""
    facets = list(detect_facets(text))
    for match in detect_mentions(text):
        if author.get("did") and match.handle.lower() == str(author.get("handle", "")).lower():
            facets.append(
                models.AppBskyRichtextFacet.Main(
                    features=[models.AppBskyRichtextFacet.Mention(did=author["did"])],
                    index=models.AppBskyRichtextFacet.ByteSlice(byte_start=match.byte_start, byte_end=match.byte_end),
                )
            )
    return sorted(facets, key=lambda f: f.index.byte_start)


def _event(channel: Channel, note: Any) -> InboundEvent:
    """One notification (a post that mentions or answers the brand) as an InboundEvent; ValueError if unreadable."""
    record = note.record
    if not isinstance(record, models.AppBskyFeedPost.Record):
        raise ValueError("not a readable app.bsky.feed.post record (missing text or createdAt)")
    if not record.text.strip():
        raise ValueError("a post without text (an image or embed only)")
    author = note.author
    extra: dict[str, Any] = {
        "cid": note.cid,
        "reason": note.reason,
        "author": {"did": author.did, "handle": author.handle, "displayName": author.display_name or ""},
        "langs": list(record.langs or []),
    }
    if record.reply is not None:
        extra["root"] = {"uri": record.reply.root.uri, "cid": record.reply.root.cid}
        extra["parent"] = {"uri": record.reply.parent.uri, "cid": record.reply.parent.cid}
    created = _parse_time(record.created_at) or _parse_time(note.indexed_at)
    if created is None:
        raise ValueError(f"bad createdAt {record.created_at[:40]!r}")
    return InboundEvent(
        network=Network.BLUESKY.value,
        external_id=note.uri,
        text=record.text,
        created_at=created,
        author_id=author.did,
        author_name=author.display_name or "",
        author_handle=author.handle,
        brand_slug=channel.brand.slug,
        in_reply_to=record.reply.parent.uri if record.reply is not None else "",
        url=f"https://bsky.app/profile/{author.handle}/post/{note.uri.rsplit('/', 1)[-1]}",
        lang=(record.langs or [""])[0],
        extra=extra,
    )


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


register(BlueskyConnector())
