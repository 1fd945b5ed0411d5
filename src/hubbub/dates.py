"""Reading the dates and times in imported files: one set of rules for every import.

Why one module: mentions (`hubbub import airline|twcs|jsonl`), CRM orders and survey responses each used
to read dates with rules of their own, so one export's `01/03/2026` could be 1 March in one import and
3 January in another. Every import now calls `parse_datetime`. No Django here: it sits below the apps.

The rules, in order:
- a number, or a string of 9 to 11 digits (with an optional fraction), is epoch seconds;
- ISO 8601 (`2026-12-31`, `2026-12-31T14:05:00Z`, `…+02:00`) is read as written: a string that starts
  with a four-digit year is never read day-first;
- Twitter's `Wed Oct 10 20:19:24 +0000 2018` (the twcs data) and `2015-02-24 11:35:52 -0800` (airline);
- anything else dateutil reads (`31/12/2026`, `12/31/2026 10:00`, `31.12.2026`, RFC 2822…): `day_first`
  decides only a date that could be either (`01/03/2026`); one that cannot (`31/12/2026`) is read the only
  way it can be;
- a date with a part missing (`March 2026`) is refused rather than completed with today's.

The result is always timezone-aware UTC; a time without a zone is in `assume` (UTC unless the import
declares another zone). Whatever cannot be read raises `DateParseError`, a ValueError whose message is
meant for the quarantine: `bad date: …`, or `no date` when the cell is empty.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any

from dateutil import parser as dateutil_parser
from dateutil import tz as dateutil_tz

__all__ = ["DateParseError", "parse_datetime"]

_EPOCH = re.compile(r"\d{9,11}(\.\d+)?")
_YEAR_FIRST = re.compile(r"\d{4}[-/.]")
_AIRLINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}")
_TWITTER_FORMAT = "%a %b %d %H:%M:%S %z %Y"
_AIRLINE_FORMAT = "%Y-%m-%d %H:%M:%S %z"
# Two different defaults: a part dateutil had to fill in differs between the two results.
_DEFAULTS = (datetime(2001, 2, 3), datetime(2004, 5, 6))
_EXAMPLES = "e.g. 2026-12-31, 31/12/2026 or 2026-12-31T14:05:00Z"
_ZONE_NAMES = {"UTC": UTC, "GMT": UTC, "Z": UTC}


class DateParseError(ValueError):
    """A date an import cannot read; the message says which value and why, for the quarantine entry."""


def _zone(name: str | None, offset: int | None) -> tzinfo | None:
    """dateutil's hook for the zone written in a value (None: no zone written). An offset is kept; of
    names, only UTC/GMT are known, since abbreviations such as EST or IST mean different zones in
    different places, and dateutil would otherwise drop them with a warning and read the time as local."""
    if name is None and offset is None:
        return None
    if offset is not None:
        return dateutil_tz.tzoffset(name, offset)
    if name and name.upper() in _ZONE_NAMES:
        return _ZONE_NAMES[name.upper()]
    raise DateParseError(f"bad date: unknown time zone {name!r}; write an offset such as +02:00 instead")


def _with_dateutil(text: str, day_first: bool) -> datetime:
    """The lenient reading, for formats no fast path knows; a part it would have made up is an error."""
    day_first = day_first and not _YEAR_FIRST.match(text)  # dateutil would read 2026-03-01 as 3 January
    results = []
    for default in _DEFAULTS:
        try:
            results.append(dateutil_parser.parse(text, dayfirst=day_first, default=default, tzinfos=_zone))
        except DateParseError:
            raise
        except (ValueError, OverflowError, TypeError) as exc:
            raise DateParseError(f"bad date: {text[:40]!r} is not a date ({_EXAMPLES})") from exc
        if default is _DEFAULTS[0] and not _filled_in(results[0]):
            break
    if len(results) == 2:
        first, second = results
        missing = [part for part in ("year", "month", "day") if getattr(first, part) != getattr(second, part)]
        if missing:
            parts = ", ".join(missing[:-1]) + " or " + missing[-1] if len(missing) > 1 else missing[0]
            raise DateParseError(f"bad date: {text[:40]!r} has no {parts} ({_EXAMPLES})")
    return results[0]


def _filled_in(value: datetime) -> bool:
    """Whether a result might hold a part taken from the first default (then a second reading tells)."""
    default = _DEFAULTS[0]
    return value.year == default.year or value.month == default.month or value.day == default.day


def _from_epoch(seconds: float, text: Any) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise DateParseError(f"bad date: {str(text)[:40]!r} is out of range as epoch seconds") from exc


def parse_datetime(value: Any, *, day_first: bool = False, assume: tzinfo = UTC) -> datetime:
    """`value` (a cell of an imported file) as an aware UTC datetime, by the rules in the module docstring.

    `day_first` reads an ambiguous `01/03/2026` as 1 March (exports from Europe) instead of 3 January;
    `assume` is the zone of a time written without one.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(float(value), value)
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value if value is not None else "").strip()
        if not text:
            raise DateParseError("no date")
        if _EPOCH.fullmatch(text):
            return _from_epoch(float(text), text)
        parsed = _read(text, day_first)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=assume)
    return parsed.astimezone(UTC)


def _read(text: str, day_first: bool) -> datetime:
    """The fast paths first (a big twcs or airline file is millions of cells), then dateutil."""
    if text[0].isdigit():
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
        if _AIRLINE.fullmatch(text):
            try:
                return datetime.strptime(text, _AIRLINE_FORMAT)
            except ValueError:
                pass
    elif text[0].isalpha() and len(text) == 30:
        try:
            return datetime.strptime(text, _TWITTER_FORMAT)
        except ValueError:
            pass
    return _with_dateutil(text, day_first)
