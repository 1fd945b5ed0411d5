"""What `accept()` does to every event before it is committed: make it storable and readable back.

Why at the door: a raw event the database takes but cannot hand back (a lone surrogate is valid JSON
and SQLite keeps it; orjson then refuses to read it) or that a later step cannot write (a NUL byte in
PostgreSQL text, a follower count beyond the integer column) used to fail its whole batch on every
retry. Normalising here makes that class impossible for every source alike: imports, webhooks, the API,
the demo. The batch step still isolates whatever slips through (`ingest.isolation`).

Cost: a handful of C-level scans per event, no copy unless something has to change.
"""

from __future__ import annotations

from datetime import UTC

from hubbub.connectors.events import InboundEvent
from hubbub.db import storable_json, storable_text

#: The largest count the PositiveIntegerField columns (followers, retweets, likes) hold on PostgreSQL.
MAX_COUNT = 2**31 - 1

# (field, the width of the column it ends up in; 0: a text column, no limit)
_TEXT_FIELDS = (
    ("network", 20),
    ("external_id", 200),
    ("text", 0),
    ("author_id", 200),
    ("author_name", 200),
    ("author_handle", 200),
    ("author_location", 200),
    ("brand_slug", 0),
    ("direction", 0),
    ("in_reply_to", 200),
    ("url", 500),
    ("lang", 10),
    ("kind", 0),
)
_COUNT_FIELDS = ("author_followers", "retweets", "likes")


def normalise(ev: InboundEvent) -> InboundEvent:
    """Make `ev` storable in place (and return it): text without NULs or lone surrogates and cut to its
    column, counts within their columns, `extra` reduced to plain JSON, `created_at` aware."""
    for name, width in _TEXT_FIELDS:
        value = getattr(ev, name)
        fixed = storable_text(value if isinstance(value, str) else str(value))
        if width:
            fixed = fixed[:width]
        if fixed is not value:
            setattr(ev, name, fixed)
    for name in _COUNT_FIELDS:
        count = getattr(ev, name)
        if type(count) is not int or not 0 <= count <= MAX_COUNT:
            setattr(ev, name, _count(count))
    if ev.extra:
        ev.extra = storable_json(ev.extra)
    if ev.created_at.tzinfo is None:
        ev.created_at = ev.created_at.replace(tzinfo=UTC)
    return ev


def _count(value: object) -> int:
    """A count as its column can hold it: not a number is 0, out of range is cut to the range."""
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return 0
    return min(max(number, 0), MAX_COUNT)
