"""What a report is about: the date range (UTC days), the brand and the team, read from query parameters.

Why a module of its own: the Reports pages, their CSV exports, the API and the CLI all read the same
parameters with the same defaults (`parse_filters`), so one question gets one answer wherever it is asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from hubbub.ids import parse_id
from hubbub.tenancy.models import Team
from hubbub.tenancy.scoping import Scope

DEFAULT_DAYS = 30
MAX_DAYS = 731  # two years: a longer range is refused rather than silently cut


@dataclass(frozen=True)
class Filters:
    """What a report is about: days `start`..`end` (both included, UTC), one brand or all, one team or all."""

    start: date
    end: date
    brand_id: int | None = None
    team_id: int | None = None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, UTC)

    @property
    def until(self) -> datetime:
        """The instant after the last day (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, UTC)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def query(self) -> dict[str, str]:
        """The filters as query parameters (links to the other tabs and the CSV exports keep them)."""
        params = {"from": self.start.isoformat(), "to": self.end.isoformat(), "brand": "", "team": ""}
        if self.brand_id is not None:
            params["brand"] = str(self.brand_id)
        if self.team_id is not None:
            params["team"] = str(self.team_id)
        return params


def _day(value: Any, name: str) -> date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{name}' is written YYYY-MM-DD (got {text[:20]!r}).") from None


def _id(value: Any) -> int | None:
    return parse_id(value or "")


def day_range(params: Mapping[str, Any], today: date | None = None) -> tuple[date, date]:
    """The days `from`..`to` (both included) the parameters ask for; no dates: the last 30 days up to today.

    Apart from `parse_filters` because the range needs no scope: the CLI states it once for every organisation.
    Raises ValueError for a malformed date or a reversed or too long range.
    """
    today = today or timezone.now().astimezone(UTC).date()
    end = _day(params.get("to"), "to")
    start = _day(params.get("from"), "from")
    if end is None:
        end = today if start is None else max(start, min(today, start + timedelta(days=DEFAULT_DAYS - 1)))
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise ValueError(f"The range starts ({start}) after it ends ({end}).")
    if (end - start).days + 1 > MAX_DAYS:
        raise ValueError(f"A report covers at most {MAX_DAYS} days; narrow the range.")
    return start, end


def parse_filters(
    scope: Scope, params: Mapping[str, Any], default_brand: int | None = None, today: date | None = None
) -> Filters:
    """Filters from query parameters `from`, `to`, `brand`, `team`.

    No dates: the last 30 days up to today (`day_range`). `brand` absent falls back to `default_brand` (the
    brand switcher); an empty `brand` means all brands. A brand or team outside the scope is treated as "all"
    (its existence is not revealed). Raises ValueError for a malformed date or a reversed or too long range.
    """
    start, end = day_range(params, today)
    brand_id = _id(params["brand"]) if "brand" in params else default_brand
    if brand_id not in scope.brand_ids:
        brand_id = None
    team_id = _id(params.get("team"))
    if team_id is not None and not Team.objects.filter(organization_id=scope.organization_id, pk=team_id).exists():
        team_id = None
    return Filters(start=start, end=end, brand_id=brand_id, team_id=team_id)
