"""Business time in the team's time zone: nights, weekends, holidays and DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hubbub.workflow.hours import OFFICE_HOURS, Calendar, parse_schedule_text, schedule_text

NY = Calendar.build("America/New_York", OFFICE_HOURS, ["2026-11-26"])  # Thanksgiving


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_an_hour_inside_office_hours_is_an_hour():
    # Monday 2026-11-02 10:00 EST = 15:00 UTC
    assert NY.add_seconds(utc(2026, 11, 2, 15), 3600) == utc(2026, 11, 2, 16)


def test_a_message_at_night_waits_for_the_next_opening():
    # Tuesday 20:00 EST (01:00 UTC Wednesday): due 10:00 EST Wednesday
    assert NY.add_seconds(utc(2026, 11, 4, 1), 3600) == utc(2026, 11, 4, 15)


def test_the_weekend_across_the_dst_change_counts_nothing_and_monday_uses_the_new_offset():
    # Friday 2026-10-30 16:30 EDT (20:30 UTC); clocks go back Sunday 1 November.
    start = utc(2026, 10, 30, 20, 30)
    due = NY.add_seconds(start, 3600)
    # 30 min on Friday, 30 min on Monday from 09:00 EST (14:00 UTC, no longer 13:00)
    assert due == utc(2026, 11, 2, 14, 30)
    assert NY.seconds_between(start, due) == 3600


def test_spring_forward_day_is_still_a_full_business_day():
    ny = Calendar.build("America/New_York", {str(d): [["00:00", "24:00"]] for d in range(7)}, [])
    # Sunday 2026-03-08 has 23 wall-clock hours in New York
    day_start = datetime(2026, 3, 8, 5, tzinfo=UTC)  # 00:00 EST
    day_end = datetime(2026, 3, 9, 4, tzinfo=UTC)  # 00:00 EDT next day
    assert ny.seconds_between(day_start, day_end) == pytest.approx(23 * 3600, abs=1)


def test_holidays_are_skipped():
    # Wednesday 2026-11-25 16:30 EST: 30 min Wednesday, Thursday is Thanksgiving, 30 min Friday
    due = NY.add_seconds(utc(2026, 11, 25, 21, 30), 3600)
    assert due == utc(2026, 11, 27, 14, 30)


def test_is_open():
    assert NY.is_open(utc(2026, 11, 2, 15))
    assert not NY.is_open(utc(2026, 11, 1, 15))  # Sunday
    assert not NY.is_open(utc(2026, 11, 26, 15))  # holiday


def test_a_calendar_without_opening_hours_never_falls_due():
    assert Calendar.build("UTC", {}, []).add_seconds(utc(2026, 1, 1), 60) is None


def test_schedule_text_round_trips_and_explains_mistakes():
    schedule = parse_schedule_text("mon-fri 09:00-17:00\nsat 10:00-14:00")
    assert schedule["5"] == [["10:00", "14:00"]] and len(schedule) == 6
    assert parse_schedule_text(schedule_text(schedule)) == schedule
    with pytest.raises(ValueError, match="mon-fri 09:00-17:00"):
        parse_schedule_text("weekdays nine to five")


def test_seconds_between_and_add_seconds_agree_over_a_month():
    start = utc(2026, 10, 20, 12)
    for hours in (1, 7, 8, 9, 40, 100):
        due = NY.add_seconds(start, hours * 3600)
        assert due is not None
        assert NY.seconds_between(start, due) == pytest.approx(hours * 3600)
        assert due - start >= timedelta(hours=hours)
