"""What goes into and comes out of the crisis detectors (`detectors.py`): the knobs, the alert, the sentiment.

Pure python, like the detectors themselves.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["ALERT_KINDS", "Alert", "DetectorConfig", "iso_utc", "normalise_sentiment"]

ALERT_KINDS = ("negative_spike", "sentiment_drop", "viral_post", "hashtag_hijack")


def iso_utc(ts: float) -> str:
    """Epoch seconds as an ISO 8601 UTC string (`2015-02-24T19:35:52Z`)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalise_sentiment(value: Any, neutral_band: float = 0.05) -> str:
    """Map a label or a compound score in [-1, 1] to negative|neutral|positive.

    Unknown labels become "neutral" so one odd value cannot raise an alert.
    """
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("negative", "neg", "-1"):
            return "negative"
        if v in ("positive", "pos", "1"):
            return "positive"
        if v in ("neutral", "neu", "0", ""):
            return "neutral"
        try:
            value = float(v)
        except ValueError:
            return "neutral"
    if isinstance(value, bool):
        return "neutral"
    if isinstance(value, int | float) and not math.isnan(value):
        if value <= -neutral_band:
            return "negative"
        if value >= neutral_band:
            return "positive"
    return "neutral"


@dataclass(slots=True)
class Alert:
    """One detected condition, ready to become an Incident or a line of backtest output."""

    detected_at: float  # epoch seconds (UTC)
    kind: str
    brand: str
    window_start: float
    expected: float
    observed: float
    score: float
    message: str
    examples: list[str] = field(default_factory=list)
    key: str = ""
    terms: list[str] = field(default_factory=list)  # what a negative_spike is about (its top terms)
    deferred_from: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict with ISO 8601 UTC times (the backtest output format)."""
        d = asdict(self)
        d["detected_at"] = iso_utc(self.detected_at)
        d["window_start"] = iso_utc(self.window_start)
        d["deferred_from"] = iso_utc(self.deferred_from) if self.deferred_from is not None else None
        d["expected"] = round(self.expected, 3)
        d["observed"] = round(self.observed, 3)
        d["score"] = round(self.score, 3)
        return d


@dataclass(slots=True)
class DetectorConfig:
    """Knobs of the detectors. Defaults were tuned on the airline backtest (see docs/listening.md).

    `sensitivity` is the one knob a supervisor sees: 1.0 is the default, 2.0
    roughly doubles the false-alarm budget's exponent (alpha ** (1/2)), 0.5 is
    stricter. Everything else is for operators.
    """

    sensitivity: float = 1.0
    # negative_spike: "cusum" (a bank of Poisson CUSUMs, see detector_cusum.py), "windows" (the
    # earlier fixed sliding windows with a negative-binomial threshold) or "both" (either may alert:
    # the CUSUM catches small brands and long mild bursts, the windows sharp bursts on loud brands)
    spike_method: str = "both"
    cusum_jumps: tuple[float, ...] = (2.0, 3.0, 5.0, 8.0)  # rate jumps the bank listens for
    cusum_arl0_weeks: float = 50.0  # target mean time between false alarms of one stream (Poisson data): sets
    # each jump's threshold per expected rate (detector_cusum.cusum_threshold); real streams, with the
    # baseline's error, alarm far more often: ~0.6 a brand-week outside incidents on the airline data
    cusum_margin: float = 1.2  # reference rate = expected x margin: room for the baseline's own error
    cusum_young_margin: float = 0.5  # extra margin for a stream still learning its daily profile, fading to 0
    cusum_minute_cap: int = 3  # negatives one minute may add, at least (one user's rapid-fire posts)
    cusum_max_run_min: int = 120  # a run longer than this is dropped (0 = keep): slow drift is not a burst
    cusum_min_volume: int = 5  # negatives in the evidence run before a CUSUM alarm can fire
    cusum_freeze_hours: float = 4.0  # the baseline stops learning upward this long into an alarm
    windows_min: tuple[int, ...] = (5, 10, 20, 30)
    alpha: float = 1e-6
    overdispersion: float = 0.06  # NB: var = mu + overdispersion * mu**2
    min_volume: int = 18  # negatives in a window before anything can fire
    min_ratio: float = 2.0  # observed must be at least this multiple of expected
    # the learning period: a stream's history (from its first mention's time, not the wall clock, so a
    # backtest and a replay agree) needed before a volume alert (negative_spike, sentiment_drop): a day,
    # so every hour of the day has been seen once...
    warmup_hours: float = 24.0
    warmup_negatives: int = 30  # ...and this many negatives seen, so a trickle cannot set the baseline
    level_halflife_hours: float = 24.0
    recent_halflife_hours: float = 2.0
    profile_days_full: float = 3.0  # days of history before the seasonal profile gets full weight
    profile_smooth: float = 0.4  # weight of the hours around (+-2 h) in the hour-of-day profile: days are noisy
    min_expected_per_hour: float = 0.5
    relearn_after_hours: float = 24.0  # a stream silent this long is learnt afresh
    # sentiment_drop
    share_window_min: int = 60
    share_min_volume: int = 25
    share_min_delta: float = 0.25
    share_z: float = 4.5
    # viral_post
    viral_min_retweets: int = 50
    viral_min_followers: int = 100_000
    viral_negative_only: bool = True
    # hashtag_hijack: brand -> its own hashtags ("#AskUnited")
    hashtags: dict[str, list[str]] = field(default_factory=dict)
    hijack_window_min: int = 60
    hijack_min_volume: int = 8
    hijack_min_share: float = 0.6
    # alert hygiene
    clear_minutes: float = 60.0
    max_alerts_per_hour: int = 4
    quiet_hours: tuple[int, int] | None = None  # local (start, end) hours, e.g. (22, 7)
    quiet_mode: str = "defer"  # "defer" or "suppress"
    tz_offset_minutes: int = 0  # local time for quiet hours and messages
    enabled_kinds: tuple[str, ...] = ALERT_KINDS

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorConfig:
        """Build from a JSON config, ignoring unknown keys so old configs keep working."""
        cfg = cls()
        for name in cls.__dataclass_fields__:
            if name in data:
                value = data[name]
                if name in ("windows_min", "enabled_kinds", "cusum_jumps") and isinstance(value, list):
                    value = tuple(value)
                if name == "quiet_hours" and isinstance(value, list):
                    value = (int(value[0]), int(value[1]))
                setattr(cfg, name, value)
        return cfg
