"""`hubbub.dates.parse_datetime`: the one way every import reads a date, and says why when it cannot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubbub.dates import DateParseError, parse_datetime

PARIS_WINTER = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("value", "day_first", "expected"),
    [
        # ISO 8601 with Z, an offset, or no zone (naive is UTC); never day-first, whatever the option says
        ("2026-11-01T10:00:00Z", False, datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-03-01T10:00:00+02:00", False, datetime(2026, 3, 1, 8, tzinfo=UTC)),
        ("2026-03-01 14:05", False, datetime(2026, 3, 1, 14, 5, tzinfo=UTC)),
        ("2026-03-01", True, datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01 10:00 UTC", True, datetime(2026, 3, 1, 10, tzinfo=UTC)),
        # epoch seconds (the jsonl import took them before): a number or a string of 9–11 digits
        (1762000000, False, datetime(2025, 11, 1, 12, 26, 40, tzinfo=UTC)),
        ("1762000000", False, datetime(2025, 11, 1, 12, 26, 40, tzinfo=UTC)),
        ("1762000000.5", False, datetime(2025, 11, 1, 12, 26, 40, 500000, tzinfo=UTC)),
        # the networks' own formats: twcs (Twitter), the airline file, RFC 2822
        ("Wed Oct 10 20:19:24 +0000 2018", False, datetime(2018, 10, 10, 20, 19, 24, tzinfo=UTC)),
        ("2015-02-24 11:35:52 -0800", False, datetime(2015, 2, 24, 19, 35, 52, tzinfo=UTC)),
        ("Wed, 10 Oct 2018 20:19:24 +0200", False, datetime(2018, 10, 10, 18, 19, 24, tzinfo=UTC)),
        # day-first vs month-first: the option decides only what could be either
        ("01/03/2026", False, datetime(2026, 1, 3, tzinfo=UTC)),
        ("01/03/2026", True, datetime(2026, 3, 1, tzinfo=UTC)),
        ("31/12/2026", False, datetime(2026, 12, 31, tzinfo=UTC)),
        ("31/12/2026", True, datetime(2026, 12, 31, tzinfo=UTC)),
        ("12/31/2026 10:00", True, datetime(2026, 12, 31, 10, tzinfo=UTC)),
        ("31.12.2026 14:05", True, datetime(2026, 12, 31, 14, 5, tzinfo=UTC)),
        ("  2026-03-01  ", False, datetime(2026, 3, 1, tzinfo=UTC)),
    ],
)
def test_formats_every_import_reads(value: object, day_first: bool, expected: datetime) -> None:
    parsed = parse_datetime(value, day_first=day_first)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "no date"),
        (None, "no date"),
        ("   ", "no date"),
        ("yesterday", "bad date: 'yesterday' is not a date"),
        ("2026-13-45", "bad date: '2026-13-45' is not a date"),
        ("2026-02-30", "bad date: '2026-02-30' is not a date"),
        ("March 2026", "bad date: 'March 2026' has no day"),
        ("12:00", "bad date: '12:00' has no year, month or day"),
        ("2026-03-01 10:00 EST", "unknown time zone 'EST'"),
        (True, "bad date: 'True'"),
        (float("nan"), "bad date"),
        (1e20, "out of range"),
    ],
)
def test_what_cannot_be_read_says_why(value: object, message: str) -> None:
    with pytest.raises(DateParseError, match=message.replace("(", r"\(")) as caught:
        parse_datetime(value)
    assert isinstance(caught.value, ValueError)  # every importer already quarantines a ValueError's row
    assert str(caught.value).split(":")[0] in {"no date", "bad date"}  # one rejection reason in the counts


def test_a_naive_time_is_in_the_declared_zone_else_utc() -> None:
    assert parse_datetime("2026-01-15 09:00") == datetime(2026, 1, 15, 9, tzinfo=UTC)
    assert parse_datetime("2026-01-15 09:00", assume=PARIS_WINTER) == datetime(2026, 1, 15, 8, tzinfo=UTC)
    assert parse_datetime("2026-01-15T09:00Z", assume=PARIS_WINTER) == datetime(2026, 1, 15, 9, tzinfo=UTC)


moments = st.datetimes(min_value=datetime(1980, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=0)
)


@given(moments, st.booleans())
def test_any_moment_written_in_any_supported_way_reads_back(moment: datetime, day_first: bool) -> None:
    """Whatever an export writes, ISO, Twitter's format, epoch seconds or the slashes of its country,
    the instant read back is the instant written."""
    offset = timezone(timedelta(hours=5, minutes=30))
    slashes = moment.strftime("%d/%m/%Y %H:%M:%S") if day_first else moment.strftime("%m/%d/%Y %H:%M:%S")
    written = [
        moment.isoformat(),
        moment.isoformat().replace("+00:00", "Z"),
        moment.astimezone(offset).isoformat(),
        moment.strftime("%a %b %d %H:%M:%S +0000 %Y"),
        moment.strftime("%Y-%m-%d %H:%M:%S"),
        str(int(moment.timestamp())),  # 9 digits from 1973 on: an 8-digit number is a date (20260301)
        slashes,
    ]
    for text in written:
        assert parse_datetime(text, day_first=day_first) == moment, text


@given(st.text(max_size=40))
def test_any_text_is_a_utc_time_or_a_date_parse_error(text: str) -> None:
    """Open-ended input never escapes as another exception (one bad cell must not stop an import)."""
    try:
        parsed = parse_datetime(text)
    except DateParseError:
        return
    assert parsed.tzinfo is UTC
