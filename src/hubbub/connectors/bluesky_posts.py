"""Bluesky posts without the network: reading pages newest-first up to a cursor, a post as an `InboundEvent`, the
record key of a reply, facets and the 300-character count. The connector (`bluesky.py`) does the calls.

Why apart: these are pure functions of the lexicon's shapes (the SDK's models), tested and reasoned about
without a PDS, and the connector module stays about the session, the calls and their errors.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from atproto_client import models
from atproto_client.utils import detect_facets, detect_mentions

from hubbub.connectors.events import InboundEvent

MAX_BOUNDARY = 100  # at-uris kept of the posts indexed at the newest time seen
_B32 = "234567abcdefghijklmnopqrstuvwxyz"  # the TID alphabet (base32-sortable)
_RKEY_FROM = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
_RKEY_SPAN = 2 * 365 * 86400 * 1_000_000

#: One page of a newest-first listing: its items (each with `uri` and `indexed_at`) and the next page's cursor.
Page = tuple[list[Any], str | None]


def scan_pages(
    fetch: Callable[[str | None], Page], cursor: dict[str, Any], max_pages: int, floor: datetime | None = None
) -> tuple[list[Any], dict[str, Any]]:
    """The items newer than the cursor's `seen_at` (or the rest of an unfinished backlog), and the next cursor.

    Pages are read until an item older than the stop time; a listing longer than `max_pages` leaves a backlog
    (`cursor` + `backlog_until`) that the next calls drain, so nothing in it is skipped. The items indexed at
    the newest time seen (`boundary`) are read again next time, since an item indexed in the same millisecond
    may arrive after this read; they are skipped rather than handed on twice. With no `seen_at` yet, `floor`
    bounds the first read (a search has no beginning)."""
    backlog = bool(cursor.get("cursor"))
    page_cursor = cursor.get("cursor") if backlog else None
    stop = parse_time(cursor.get("backlog_until") if backlog else cursor.get("seen_at")) or floor
    newest = parse_time(cursor.get("seen_at"))
    boundary = set() if backlog else set(cursor.get("boundary") or [])
    at_newest: list[str] = list(cursor.get("boundary") or [])
    found: list[Any] = []
    for _ in range(max_pages):
        items, page_cursor = fetch(page_cursor)
        reached = False
        for item in items:
            indexed = parse_time(item.indexed_at)
            if stop is not None and indexed is not None and indexed < stop:
                reached = True
                break
            if indexed is not None and (newest is None or indexed > newest):
                newest, at_newest = indexed, []
            if indexed is not None and indexed == newest and item.uri not in at_newest:
                at_newest.append(item.uri)
            if not (indexed == stop and item.uri in boundary):
                found.append(item)
        if reached or not page_cursor:
            return found, {"seen_at": iso(newest), "boundary": at_newest[:MAX_BOUNDARY], "cursor": None}
    state = {"seen_at": iso(newest), "boundary": at_newest[:MAX_BOUNDARY], "cursor": page_cursor}
    return found, {**state, "backlog_until": iso(stop)}


def post_event(item: Any, reason: str, brand_slug: str) -> InboundEvent:
    """A post (a notification's or a search hit's) as an InboundEvent; ValueError, the quarantine's reason, when
    its record is not a readable post."""
    record = item.record
    if not isinstance(record, models.AppBskyFeedPost.Record):
        raise ValueError("not a readable app.bsky.feed.post record (missing text or createdAt)")
    if not record.text.strip():
        raise ValueError("a post without text (an image or embed only)")
    author = item.author
    extra: dict[str, Any] = {
        "cid": item.cid,
        "reason": reason,
        "author": {"did": author.did, "handle": author.handle, "displayName": author.display_name or ""},
        "langs": list(record.langs or []),
    }
    if record.reply is not None:
        extra["root"] = {"uri": record.reply.root.uri, "cid": record.reply.root.cid}
        extra["parent"] = {"uri": record.reply.parent.uri, "cid": record.reply.parent.cid}
    created = parse_time(record.created_at) or parse_time(item.indexed_at)
    if created is None:
        raise ValueError(f"bad createdAt {record.created_at[:40]!r}")
    return InboundEvent(
        network="bluesky",
        external_id=item.uri,
        text=record.text,
        created_at=created,
        author_id=author.did,
        author_name=author.display_name or "",
        author_handle=author.handle,
        brand_slug=brand_slug,
        in_reply_to=record.reply.parent.uri if record.reply is not None else "",
        url=f"https://bsky.app/profile/{author.handle}/post/{item.uri.rsplit('/', 1)[-1]}",
        lang=(record.langs or [""])[0],
        retweets=int(getattr(item, "repost_count", 0) or 0),
        likes=int(getattr(item, "like_count", 0) or 0),
        extra=extra,
    )


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


def reply_facets(text: str, author: dict[str, Any]) -> list[models.AppBskyRichtextFacet.Main]:
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


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None
