"""RSS and Atom feeds: blogs (network `rss`), forums such as Discourse's `latest.rss` (`forum`) and review sites
(`review`), one entry one message, read with `feedparser`.

Credentials (`Channel.credentials`): `url` (the feed; encrypted because private feeds carry a token in it) and
an optional `keywords`, a listening query ("acme OR @acmeair -job") that an entry must match to become a
message: a busy forum's feed is mostly about other things.

Why it works this way:
- The document is fetched by the outbound client (address policy, timeouts, size limit), with `If-None-Match`
  and `If-Modified-Since` from the cursor, so an unchanged feed costs a `304` and no parsing. feedparser only
  parses the bytes it is given; it never fetches anything itself.
- A feed repeats its recent entries on every fetch, so the cursor keeps the ids already handed on (`seen`, the
  newest `MAX_SEEN`); ingest's idempotency on `(network, entry id)` covers what falls out of that window.
- Entry HTML becomes plain text: scripts, styles and markup are dropped, entities decoded. The text is stored as
  received and escaped on output like every message; nothing of a feed is rendered as HTML.
- An entry without an id or link, or without any text, goes to the quarantine with why; the others arrive.
- The query language belongs to `listening`, which sits above the connectors, so listening registers the
  compiler (`register_keyword_filter`) at start-up. A channel with keywords and no compiler registered fails
  its poll rather than let every entry through or none.
- Feeds take no replies: the agent answers on the site itself, following the message's link.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import feedparser
import httpx

from hubbub.connectors.base import ChannelError, OutboundReply, PollResult, register
from hubbub.connectors.csv_import import clean_text
from hubbub.connectors.events import InboundEvent
from hubbub.connectors.html_text import html_to_text
from hubbub.connectors.http import shared_client
from hubbub.connectors.models import Channel, Network
from hubbub.connectors.outbound import PermanentDeliveryError
from hubbub.importreport import Reject, quarantine
from hubbub.outbound_http import OutboundError

MAX_SEEN = 1000
_RSS_AUTHOR = re.compile(r"\s*(?P<email>[^\s()@]+@[^\s()@]+)\s*\((?P<name>[^()]+)\)\s*")
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
USER_AGENT = "Hubbub feed reader (+https://hubbub.example/bot)"

#: Compiles a listening query into a predicate `(text, lang, network) -> bool`; raises ValueError if invalid.
KeywordFilter = Callable[[str, str | None, str | None], bool]
_compilers: list[Callable[[str], KeywordFilter]] = []


def register_keyword_filter(compile_query: Callable[[str], KeywordFilter]) -> None:
    """Listening hands over its query compiler at start-up (`ListeningConfig.ready`)."""
    if compile_query not in _compilers:
        _compilers[:] = [compile_query]


def _keyword_filter(channel: Channel) -> KeywordFilter | None:
    query = str(channel.credentials.get("keywords") or "").strip()
    if not query:
        return None
    if not _compilers:
        raise ChannelError("This feed's keyword filter cannot be applied: the listening app is not installed.")
    try:
        return _compilers[0](query)
    except ValueError as exc:
        raise ChannelError(f"This feed's keyword filter is not a valid query: {exc}") from exc


class FeedConnector:
    """One feed network (`rss`, `forum` or `review`); the three share the reading and differ only in name."""

    def __init__(self, network: str) -> None:
        self.network = network

    def check(self, channel: Channel) -> str:
        _keyword_filter(channel)  # an invalid query is refused when the feed is connected, not at its first poll
        response = _fetch(channel, {})
        parsed = _parse(response, str(channel.credentials.get("url", "")))
        title = html_to_text(parsed.feed.get("title", "")) or "untitled feed"
        return f"{title} ({len(parsed.entries)} entries) at {response.url.host}"

    def poll(self, channel: Channel, cursor: dict[str, Any]) -> PollResult:
        keep = _keyword_filter(channel)
        response = _fetch(channel, cursor)
        if response.status_code == 304:
            return PollResult([], dict(cursor))
        url = str(channel.credentials.get("url", ""))
        parsed = _parse(response, url)
        seen = list(cursor.get("seen") or [])
        known = set(seen)
        events, rejects, current = [], [], []
        language = str(parsed.feed.get("language", "") or "")
        for n, entry in enumerate(parsed.entries, start=1):
            try:
                event = _event(channel, entry, language, str(parsed.feed.get("title", "")))
            except ValueError as exc:
                # Kept in `seen` by a hash of what it holds, so it is quarantined once, not on every fetch.
                raw = _raw(entry)
                bad_id = "bad:" + hashlib.sha1(raw.encode()).hexdigest()[:20]
                current.append(bad_id)
                if bad_id not in known:
                    rejects.append(
                        Reject(channel.organization_id, self.network, f"{url[:150]}#entry-{n}", str(exc), raw)
                    )
                continue
            current.append(event.external_id)
            if event.external_id in known:
                continue
            if keep is None or keep(event.text, event.lang or None, event.network):
                events.append(event)
        quarantine(rejects)
        fresh = [i for i in dict.fromkeys(current) if i not in known]
        return PollResult(events, {**_validators(response), "seen": (fresh + seen)[:MAX_SEEN]})

    def send_reply(self, channel: Channel, reply: OutboundReply) -> str:
        raise PermanentDeliveryError("Feeds take no replies: reply on the site itself: follow the link.")

    def find_posted(self, channel: Channel, reply: OutboundReply) -> str | None:
        return None


def _fetch(channel: Channel, cursor: dict[str, Any]) -> httpx.Response:
    """GET the feed with the cursor's validators; a 200 or a 304, else a `ChannelError` that says why."""
    url = str(channel.credentials.get("url", "")).strip()
    if not url:
        raise ChannelError(
            "No feed address is set for this channel: add it in Settings → Channels.", reconnect_needed=True
        )
    headers = {"Accept": ACCEPT, "User-Agent": USER_AGENT}
    if cursor.get("etag"):
        headers["If-None-Match"] = str(cursor["etag"])
    if cursor.get("last_modified"):
        headers["If-Modified-Since"] = str(cursor["last_modified"])
    try:
        response = shared_client().get(url, headers=headers)
    except OutboundError as exc:
        raise ChannelError(f"Could not fetch the feed: {exc}") from exc
    if response.status_code in (200, 304):
        return response
    status = response.status_code
    if status in (401, 403):
        raise ChannelError(
            f"The site refuses Hubbub (HTTP {status}): check the feed address and any token in it.",
            reconnect_needed=True,
        )
    if status in (404, 410):
        raise ChannelError(
            f"The feed is not at this address any more (HTTP {status}): check it in Settings → Channels."
        )
    retry = response.headers.get("Retry-After", "")
    raise ChannelError(
        f"The site answered HTTP {status}; the next poll tries again.",
        retry_after=float(retry) if retry.isdigit() else None,
        rate_limited=status == 429,
    )


def _parse(response: httpx.Response, url: str) -> Any:
    """feedparser over the fetched bytes (never a URL: it would fetch by itself, around the outbound policy)."""
    headers = {"content-type": response.headers.get("content-type", ""), "content-location": url}
    parsed = feedparser.parse(io.BytesIO(response.content), response_headers=headers, sanitize_html=True)
    if not parsed.entries and not parsed.feed.get("title") and parsed.get("bozo"):
        raise ChannelError("The address does not serve an RSS or Atom feed (the document could not be read as one).")
    return parsed


def _validators(response: httpx.Response) -> dict[str, str]:
    return {"etag": response.headers.get("ETag", ""), "last_modified": response.headers.get("Last-Modified", "")}


def _event(channel: Channel, entry: Any, feed_language: str, feed_title: str) -> InboundEvent:
    """One entry as an event; ValueError (the quarantine's reason) when it has no id or link, or no text."""
    external_id = str(entry.get("id") or entry.get("link") or "").strip()
    if not external_id:
        raise ValueError("entry has neither an id (guid) nor a link")
    title = html_to_text(entry.get("title", ""))
    contents = entry.get("content") or []
    body = html_to_text(contents[0].get("value", "") if contents else entry.get("summary", ""))
    text, cut = clean_text("\n\n".join(part for part in (title, body) if part))
    if not text:
        raise ValueError("entry has no title and no text")
    author, author_id = _author(entry, feed_title)
    extra: dict[str, Any] = {
        "title": title,
        "feed": feed_title,
        "tags": [t.get("term", "") for t in entry.get("tags") or []],
    }
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    if when is None:
        extra["date_missing"] = True  # no date, or one feedparser could not read: the time it was first seen
    if cut:
        extra["truncated"] = True
    if len(external_id) > 200:  # the column's width: a long id is kept whole in a hash, never cut into a collision
        external_id = "sha1:" + hashlib.sha1(external_id.encode()).hexdigest()
    return InboundEvent(
        network=channel.network,
        external_id=external_id,
        text=text,
        created_at=datetime.fromtimestamp(calendar.timegm(when), UTC) if when else datetime.now(UTC),
        author_id=author_id[:200],
        author_name=author[:200],
        author_handle=author[:200],
        brand_slug=channel.brand.slug,
        url=str(entry.get("link", ""))[:500],
        lang=str(entry.get("language") or feed_language or "")[:10].split("-")[0].lower(),
        extra=extra,
    )


def _author(entry: Any, feed_title: str) -> tuple[str, str]:
    """The author's name to show and what identifies them (address or profile link). RSS writes `<author>` as
    "email (Name)"; it is split here, since feedparser's own split cuts addresses whose domain ends in more than
    four letters (`.example`, `.museum`)."""
    raw = str(entry.get("author") or "")
    match = _RSS_AUTHOR.fullmatch(raw)
    if match:
        return html_to_text(match["name"]), match["email"]
    detail = entry.get("author_detail") or {}
    name = html_to_text(str(detail.get("name") or raw)).lstrip("@") or feed_title or "unknown"
    return name, str(detail.get("href") or detail.get("email") or name)


def _raw(entry: Any) -> str:
    return json.dumps(entry, default=str, ensure_ascii=False)[:20000]


for _network in (Network.RSS, Network.FORUM, Network.REVIEW):
    register(FeedConnector(_network.value))
