"""Business time: how many working seconds lie between two instants, and when N working
seconds after an instant will have passed, in a team's time zone with holidays.

Intervals are built from local wall-clock times with `zoneinfo`, so a 09:00–17:00 day
is 8 hours on the day of a DST change too, and its UTC offset follows the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_DAYS = 400  # a schedule with no open time must not loop forever
ONE_DAY = timedelta(days=1)


def parse_hhmm(value: str) -> time:
    hours, minutes = value.strip().split(":")
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return time(23, 59, 59, 999999)
    return time(h, m)


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Calendar:
    """Weekly opening intervals (local time) and holidays in one time zone."""

    tz: ZoneInfo
    weekly: tuple[tuple[tuple[time, time], ...], ...]  # 7 entries, Monday first
    holidays: frozenset[date]
    _days: dict[date, list[tuple[datetime, datetime]]] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def build(cls, tz_name: str, schedule: dict[str, list[list[str]]], holidays: list[str]) -> Calendar:
        weekly = []
        for day in range(7):
            intervals = []
            for start, end in schedule.get(str(day), []) or []:
                a, b = parse_hhmm(start), parse_hhmm(end)
                if b > a:
                    intervals.append((a, b))
            weekly.append(tuple(sorted(intervals)))
        days = frozenset(date.fromisoformat(h) for h in holidays or [])
        return cls(zone(tz_name), tuple(weekly), days)

    def _day_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """A day's opening intervals in UTC (memoised: a batch asks about the same few days)."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        out = []
        if day not in self.holidays:
            for a, b in self.weekly[day.weekday()]:
                start = datetime.combine(day, a, tzinfo=self.tz).astimezone(UTC)
                end = datetime.combine(day, b, tzinfo=self.tz).astimezone(UTC)
                out.append((start, end))
        if len(self._days) > 4096:
            self._days.clear()
        self._days[day] = out
        return out

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.tz)
        return any(a <= at < b for a, b in self._day_intervals(local.date()))

    def seconds_between(self, start: datetime, end: datetime) -> float:
        """Working seconds in [start, end)."""
        if end <= start:
            return 0.0
        total = 0.0
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date()
        while day <= last:
            for a, b in self._day_intervals(day):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total

    def add_seconds(self, start: datetime, seconds: float) -> datetime | None:
        """The instant when `seconds` of working time after `start` have passed (None: never)."""
        day = start.astimezone(self.tz).date() - ONE_DAY
        remaining = float(seconds)
        days = self._days
        for _ in range(MAX_DAYS):
            intervals = days.get(day)
            if intervals is None:
                intervals = self._day_intervals(day)
            for a, b in intervals:
                if b <= start:
                    continue
                lo = a if a > start else start
                span = (b - lo).total_seconds()
                if remaining <= span:
                    return lo + timedelta(seconds=remaining)
                remaining -= span
            day += ONE_DAY
        return None


class AlwaysOpen:
    """24/7: business time is wall-clock time."""

    def is_open(self, at: datetime) -> bool:
        return True

    def seconds_between(self, start: datetime, end: datetime) -> float:
        return max(0.0, (end - start).total_seconds())

    def add_seconds(self, start: datetime, seconds: float) -> datetime | None:
        return start + timedelta(seconds=seconds)


ALWAYS_OPEN = AlwaysOpen()

# Monday–Friday 09:00–17:00, the default for a new business-hours calendar.
OFFICE_HOURS = {str(d): [["09:00", "17:00"]] for d in range(5)}


def parse_schedule_text(text: str) -> dict[str, list[list[str]]]:
    """Parse lines like "mon-fri 09:00-17:00" or "sat 10:00-14:00" into a schedule dict."""
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    schedule: dict[str, list[list[str]]] = {}
    for raw in text.splitlines():
        line = raw.strip().lower()
        if not line:
            continue
        try:
            days_part, hours_part = line.split()
            start, end = hours_part.split("-")
            parse_hhmm(start)
            parse_hhmm(end)
            if "-" in days_part:
                d0, d1 = (names.index(x[:3]) for x in days_part.split("-"))
                days = list(range(d0, d1 + 1))
            else:
                days = [names.index(x[:3]) for x in days_part.split(",")]
        except ValueError as exc:
            raise ValueError(f"Cannot read {raw.strip()!r}; write e.g. 'mon-fri 09:00-17:00'.") from exc
        for d in days:
            schedule.setdefault(str(d), []).append([start, end])
    return schedule


def schedule_text(schedule: dict[str, list[list[str]]]) -> str:
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return "\n".join(f"{names[int(d)]} {a}-{b}" for d in sorted(schedule, key=int) for a, b in schedule[d])
