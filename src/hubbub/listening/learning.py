"""Which brands the crisis detectors are still learning, and until when: what the war room and the
listening page say beside a brand.

A brand's detectors raise no volume alert (negative spike, sentiment drop) until their stream holds
`DetectorConfig.warmup_hours` of history (24 h, counted from the brand's first mention) and
`warmup_negatives` negative mentions. Until then a quiet war room means "not yet known", not "calm",
and a supervisor must be able to tell the two apart. The answer is read from what the detectors stored
(`DetectorState`), so the page says what the detectors actually know.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from hubbub.listening.detector_types import DetectorConfig
from hubbub.listening.models import DetectorState
from hubbub.tenancy.models import Brand

__all__ = ["BrandLearning", "learning_status"]


@dataclass(frozen=True, slots=True)
class BrandLearning:
    """One brand's detector status as shown to people."""

    brand: Brand
    learning: bool
    until: datetime | None  # when the learning period ends by its history span (known once a mention was seen)
    negatives_seen: int
    negatives_needed: int

    @property
    def needs_negatives(self) -> bool:
        """The day has passed but too few negatives were seen to know the usual volume."""
        return self.learning and self.negatives_seen < self.negatives_needed

    @property
    def summary(self) -> str:
        """The status in words, as the pages show it ("learning the usual volume until 8 Dec 14:00 UTC")."""
        if not self.learning:
            return "watching"
        if self.until is None:
            return "learning the usual volume from the first mention"
        text = f"learning the usual volume until {self.until.day} {self.until:%b %H:%M} UTC"
        if self.needs_negatives:
            text += f" and {self.negatives_needed} negative mentions ({self.negatives_seen} so far)"
        return text


def learning_status(brands: Iterable[Brand], config: DetectorConfig | None = None) -> list[BrandLearning]:
    """Each brand's status, in the order given: one query for all of them."""
    cfg = config or DetectorConfig()
    brands = list(brands)
    states = dict(DetectorState.objects.filter(brand_id__in=[b.pk for b in brands]).values_list("brand_id", "state"))
    out = []
    for brand in brands:
        stream = (states.get(brand.pk) or {}).get("") or {}
        if stream.get("warm"):
            out.append(BrandLearning(brand, False, None, int(stream.get("neg_seen", 0)), cfg.warmup_negatives))
            continue
        until = None
        if "first_ts" in stream:
            # the detector ends the period at the first hour it closes past the span (Baseline.check_learnt)
            end = math.ceil((float(stream["first_ts"]) + cfg.warmup_hours * 3600) / 3600) * 3600
            until = datetime.fromtimestamp(end, UTC)
        out.append(BrandLearning(brand, True, until, int(stream.get("neg_seen", 0)), cfg.warmup_negatives))
    return out
