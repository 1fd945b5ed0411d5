"""File importers: airline (Crowdflower airline tweets), twcs (Customer Support on Twitter), jsonl.

Each parser yields `ParsedRow`s: an InboundEvent, or the reason the row was rejected,
with its location, so the importer can quarantine bad rows and keep going. Dates are read by
`hubbub.dates.parse_datetime`, the one parser of every import (Twitter's `Wed Oct 10 20:19:24 +0000
2018` in twcs, `2015-02-24 11:35:52 -0800` in the airline file).

Generic JSONL schema (one object per line):
    id (str, required), text (str, required), created_at (ISO 8601 / epoch seconds / any date
    `hubbub.dates.parse_datetime` reads, required),
    brand (str, required unless --brand), author_id (str, required), author_name, author_handle,
    followers (int), network (default "x"), direction ("in" | "out"), in_reply_to (id),
    url, lang, retweets, likes, location. Unknown fields are kept in `extra`.
"""

from __future__ import annotations

import csv
import html
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.text import slugify

from hubbub import textfiles
from hubbub.connectors.events import InboundEvent
from hubbub.dates import parse_datetime

MAX_TEXT = 50_000  # characters kept of a single message; longer text is cut and flagged
#: The largest count kept (followers, retweets, likes): the PositiveIntegerField columns' range.
MAX_COUNT = 2**31 - 1
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass
class ParsedRow:
    location: str
    event: InboundEvent | None = None
    error: str = ""
    raw: str = ""
    line: int = 0  # the row's line in the file (its `location` is `file:line`), for the import report


@dataclass
class ParseStats:
    unknown_columns: list[str]
    total_bytes: int


def clean_text(text: str, html_escaped: bool = False) -> tuple[str, bool]:
    """Strip NULs and cut huge text; X/Twitter exports carry &amp; &lt; &gt; escaped, which we undo
    so the stored text is what the customer wrote (it is escaped again on output)."""
    text = (text or "").replace("\x00", "").strip()
    if html_escaped:
        text = html.unescape(text)
    if len(text) > MAX_TEXT:
        return text[:MAX_TEXT], True
    return text, False


def _int(value: Any) -> int:
    """A count cell of a CSV export: junk reads as 0, a number beyond the column's range as its limit."""
    try:
        number = float(value or 0)
    except (TypeError, ValueError):
        return 0
    return int(min(max(number, 0), MAX_COUNT)) if number == number else 0  # NaN is not a count


AIRLINE_COLUMNS = {
    "tweet_id",
    "airline_sentiment",
    "airline_sentiment_confidence",
    "negativereason",
    "negativereason_confidence",
    "airline",
    "airline_sentiment_gold",
    "name",
    "negativereason_gold",
    "retweet_count",
    "text",
    "tweet_coord",
    "tweet_created",
    "tweet_location",
    "user_timezone",
}
AIRLINE_REQUIRED = {"tweet_id", "airline", "name", "text", "tweet_created"}
AIRLINE_HANDLES = {
    "Virgin America": "VirginAmerica",
    "United": "united",
    "Southwest": "SouthwestAir",
    "Delta": "JetBlue",
    "US Airways": "USAirways",
    "American": "AmericanAir",
}
# The Crowdflower file labels @JetBlue tweets as "Delta"; we keep its brand name but map the handle honestly.


def _csv_header(path: Path) -> set[str]:
    with textfiles.open_text(path) as fh:
        return set(csv.DictReader(textfiles.lines_without_nul(fh)).fieldnames or [])


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number of the row's start as the file's data rows count it, row) read from disk as needed."""
    with textfiles.open_text(path) as fh:
        yield from enumerate(csv.DictReader(textfiles.lines_without_nul(fh)), start=2)


def parse_airline(path: Path, brand: str = "") -> tuple[ParseStats, Iterator[ParsedRow]]:
    header = _csv_header(path)
    missing = AIRLINE_REQUIRED - header
    if missing:
        raise ValueError(f"not an airline file: missing column(s) {', '.join(sorted(missing))}")
    stats = ParseStats(unknown_columns=sorted(header - AIRLINE_COLUMNS), total_bytes=path.stat().st_size)

    def rows() -> Iterator[ParsedRow]:
        for n, row in _csv_rows(path):
            loc = f"{path.name}:{n}"
            raw = json.dumps(row, ensure_ascii=False)[:20000]
            try:
                if None in row:
                    raise ValueError("too many fields in row")
                tid = (row.get("tweet_id") or "").strip()
                if not tid.isdigit():
                    raise ValueError(f"bad tweet_id {tid[:30]!r}")
                body, cut = clean_text(row.get("text") or "", html_escaped=True)
                if not body:
                    raise ValueError("empty text")
                airline = (row.get("airline") or "").strip()
                brand_name = brand or airline
                if not brand_name:
                    raise ValueError("no airline/brand")
                author = (row.get("name") or "").strip() or "unknown"
                yield ParsedRow(
                    loc,
                    InboundEvent(
                        network="x",
                        external_id=tid,
                        text=body,
                        created_at=parse_datetime(row.get("tweet_created")),
                        author_id=author,
                        author_handle=author,
                        author_name=author,
                        author_location=(row.get("tweet_location") or "")[:200],
                        brand_slug=slugify(brand_name),
                        retweets=_int(row.get("retweet_count")),
                        url=f"https://twitter.com/{author}/status/{tid}",
                        extra={"truncated": True} if cut else {},
                    ),
                    raw=raw,
                    line=n,
                )
            except Exception as exc:  # any error of the row's content is the row's, never the import's
                yield ParsedRow(loc, error=_row_error(exc), raw=raw, line=n)

    return stats, rows()


TWCS_COLUMNS = {
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
}


def parse_twcs(path: Path, brand: str = "") -> tuple[ParseStats, Iterator[ParsedRow]]:
    """Customer Support on Twitter: brand replies are outbound messages of the brand account.

    A customer tweet's brand is the brand account that answered it (following reply links),
    else the first @mention that is a known brand account in the file.
    """
    header = _csv_header(path)
    missing = {"tweet_id", "author_id", "inbound", "created_at", "text"} - header
    if missing:
        raise ValueError(f"not a twcs file: missing column(s) {', '.join(sorted(missing))}")
    stats = ParseStats(unknown_columns=sorted(header - TWCS_COLUMNS), total_bytes=path.stat().st_size)
    tweet_brand = _twcs_brand_of_tweets(path)
    lower_accounts = {a.lower(): a for a in set(tweet_brand.values())}

    def rows() -> Iterator[ParsedRow]:
        for n, r in _csv_rows(path):
            loc = f"{path.name}:{n}"
            raw = json.dumps(r, ensure_ascii=False)[:20000]
            try:
                if None in r:
                    raise ValueError("too many fields in row")
                tid = (r.get("tweet_id") or "").strip()
                if not tid:
                    raise ValueError("missing tweet_id")
                author = (r.get("author_id") or "").strip()
                if not author:
                    raise ValueError("missing author_id")
                inbound_raw = str(r.get("inbound", "")).strip().lower()
                if inbound_raw not in {"true", "false"}:
                    raise ValueError(f"inbound must be True or False, got {inbound_raw[:20]!r}")
                body, cut = clean_text(r.get("text") or "", html_escaped=True)
                if not body:
                    raise ValueError("empty text")
                inbound = inbound_raw == "true"
                brand_account = brand or tweet_brand.get(tid, "")
                if not brand_account and inbound:
                    for handle in re.findall(r"@(\w+)", body):
                        if handle.lower() in lower_accounts:
                            brand_account = lower_accounts[handle.lower()]
                            break
                if not brand_account:
                    raise ValueError("cannot tell which brand this tweet is for (no reply link, no known @brand)")
                yield ParsedRow(
                    loc,
                    InboundEvent(
                        network="x",
                        external_id=tid,
                        text=body,
                        created_at=parse_datetime(r.get("created_at")),
                        author_id=author,
                        author_handle=author,
                        brand_slug=slugify(brand_account),
                        direction="in" if inbound else "out",
                        in_reply_to=(r.get("in_response_to_tweet_id") or "").strip(),
                        extra={"truncated": True, "brand_account": brand_account}
                        if cut
                        else {"brand_account": brand_account},
                    ),
                    raw=raw,
                    line=n,
                )
            except Exception as exc:  # any error of the row's content is the row's, never the import's
                yield ParsedRow(loc, error=_row_error(exc), raw=raw, line=n)

    return stats, rows()


def _twcs_brand_of_tweets(path: Path) -> dict[str, str]:
    """Tweet id -> the brand account it belongs to: the brand's own tweets, and the tweets reply links
    join to one. A first pass over only the reply links and the brand accounts' tweets, not the rows
    (a full export is ~3M rows)."""
    tweet_brand: dict[str, str] = {}
    links_of: dict[str, list[str]] = {}
    for _, r in _csv_rows(path):
        tid = (r.get("tweet_id") or "").strip()
        if str(r.get("inbound", "")).strip().lower() == "false" and r.get("author_id"):
            tweet_brand[tid] = (r.get("author_id") or "").strip()
            continue
        links = [x.strip() for x in (r.get("response_tweet_id") or "").split(",") if x.strip()]
        parent = (r.get("in_response_to_tweet_id") or "").strip()
        if parent:
            links.append(parent)
        if links:
            links_of[tid] = links
    # Propagate brand along reply links both ways until stable (threads are short).
    for _ in range(6):
        changed = False
        for tid, links in links_of.items():
            if tid not in tweet_brand:
                for link in links:
                    if link in tweet_brand:
                        tweet_brand[tid] = tweet_brand[link]
                        changed = True
                        break
        if not changed:
            break
    return tweet_brand


JSONL_FIELDS = {
    "id",
    "text",
    "created_at",
    "brand",
    "author_id",
    "author_name",
    "author_handle",
    "followers",
    "network",
    "direction",
    "in_reply_to",
    "url",
    "lang",
    "retweets",
    "retweet_count",
    "likes",
    "location",
    "sentiment",
}


#: The longest JSON Lines line read (characters); a longer one is no mention and is quarantined unread.
MAX_LINE = 1_000_000
# Bytes that are not UTF-8, as `textfiles.open_text(..., "surrogateescape")` hands them over.
_UNDECODED = re.compile("[\udc80-\udcff]")


def parse_jsonl(path: Path, brand: str = "") -> tuple[ParseStats, Iterator[ParsedRow]]:
    unknown: set[str] = set()
    stats = ParseStats(unknown_columns=[], total_bytes=path.stat().st_size)

    def rows() -> Iterator[ParsedRow]:
        with textfiles.open_text(path, undecodable="surrogateescape") as fh:
            yield from _jsonl_rows(path, textfiles.lines_without_nul(fh), brand, unknown, stats)

    return stats, rows()


def _jsonl_rows(
    path: Path, lines: Iterator[str], brand: str, unknown: set[str], stats: ParseStats
) -> Iterator[ParsedRow]:
    """One `ParsedRow` per non-blank line; `unknown` and `stats` collect the fields nobody reads.

    Whatever a line holds, it becomes an event or a rejection with its reason: only reading the file can
    stop the import (a JSON nested 5,000 deep, a date of 1e308 or a number beyond 64 bits used to).
    """
    for n, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        loc = f"{path.name}:{n}"
        try:
            event, extra_keys = _jsonl_event(line, brand)
        except Exception as exc:  # any error of the row's content is the row's, never the import's
            yield ParsedRow(loc, error=_row_error(exc), raw=_raw_line(line), line=n)
            continue
        if not extra_keys <= unknown:
            unknown.update(extra_keys)
            stats.unknown_columns = sorted(unknown)
        yield ParsedRow(loc, event, raw=line[:20000], line=n)


def _jsonl_event(line: str, brand: str) -> tuple[InboundEvent, set[str]]:
    """The event of one JSON Lines line and its fields nobody reads, or a ValueError saying what is wrong."""
    if len(line) > MAX_LINE:
        raise ValueError(f"line too long: {len(line):,} characters (at most {MAX_LINE:,})")
    bad_byte = _UNDECODED.search(line)
    if bad_byte:
        byte = ord(bad_byte.group()) - 0xDC00
        raise ValueError(f"invalid UTF-8: byte 0x{byte:02x} at column {bad_byte.start() + 1}")
    obj = json.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("line is not a JSON object")
    ext = _field(obj, "id")
    if not ext:
        raise ValueError("missing id")
    text = obj.get("text")
    if text is not None and not isinstance(text, str):
        raise ValueError(f"text must be a string, not {_json_type(text)}")
    body, cut = clean_text(text or "")
    if not body:
        raise ValueError("empty text")
    brand_name = brand or _field(obj, "brand")
    if not brand_name:
        raise ValueError("missing brand (give --brand or a brand field)")
    if len(brand_name) > 200 or len(slugify(brand_name)) > 50:
        raise ValueError("brand name too long (at most 200 characters, 50 letters and digits)")
    author = _field(obj, "author_id") or _field(obj, "author_handle")
    if not author:
        raise ValueError("missing author_id")
    direction = _field(obj, "direction") or "in"
    if direction not in {"in", "out"}:
        raise ValueError("direction must be 'in' or 'out'")
    extra_keys = set(obj) - JSONL_FIELDS
    event = InboundEvent(
        network=(_field(obj, "network") or "x")[:20],
        external_id=ext[:200],
        text=body,
        created_at=parse_datetime(obj.get("created_at")),
        author_id=author[:200],
        author_name=_field(obj, "author_name")[:200],
        author_handle=(_field(obj, "author_handle") or author)[:200],
        author_followers=_count(obj, "followers"),
        author_location=_field(obj, "location")[:200],
        brand_slug=slugify(brand_name),
        direction=direction,
        in_reply_to=_field(obj, "in_reply_to")[:200],
        url=_field(obj, "url")[:500],
        lang=_field(obj, "lang")[:10],
        retweets=_count(obj, "retweets" if "retweets" in obj else "retweet_count"),
        likes=_count(obj, "likes"),
        extra={k: obj[k] for k in sorted(extra_keys)[:20]} | ({"truncated": True} if cut else {}),
    )
    return event, extra_keys


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "true/false", str: "a string"}.get(type(value), "a number")


def _field(obj: dict[str, Any], name: str) -> str:
    """A text field: a string, or a whole number (ids often are); missing or null is ""."""
    value = obj.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"{name} must be a string, not {_json_type(value)}")


def _count(obj: dict[str, Any], name: str) -> int:
    """A count field: a non-negative number (or its digits) up to `MAX_COUNT`; missing or null is 0."""
    value = obj.get(name)
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name} must be a number, not {_json_type(value)}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {str(value)[:30]!r}") from None
    if not 0 <= number <= MAX_COUNT:  # NaN fails this too
        raise ValueError(f"{name} out of range: {str(value)[:30]} (0 to {MAX_COUNT:,})")
    return int(number)


def _row_error(exc: Exception) -> str:
    """The reason a row was rejected, as the quarantine shows it."""
    if isinstance(exc, RecursionError):
        return "JSON nested too deep"
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc}"
    if isinstance(exc, ValueError | TypeError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _raw_line(line: str) -> str:
    """A rejected line as the quarantine keeps it: the first 20,000 characters, bytes that are not UTF-8
    shown as \\xNN."""
    head = line[:20000]
    if _UNDECODED.search(head):
        return head.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return head


PARSERS = {"airline": parse_airline, "twcs": parse_twcs, "jsonl": parse_jsonl}
