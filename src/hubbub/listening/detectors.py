"""Streaming crisis detectors: fed mentions in time order, they emit `Alert`s.

Pure python (no Django) so the same code runs inside the ingest pipeline, in
the war room's periodic job and in `hubbub listen backtest`, which must replay
hundreds of thousands of mentions a second.

How the negative-volume detector works, and why:

* Every stream (a brand, optionally narrowed by a query key) keeps a ring of
  one-minute counts and running sums over several sliding windows
  (5/10/20/30 min by default). Short windows catch big bursts within minutes;
  long windows catch moderate ones that short windows cannot separate from noise.
* The expected negative rate is learnt online, per hour: a seasonal part
  (deseasonalised level x hour-of-day profile, or hour-of-week once two weeks
  have been seen) blended with a fast recent-level EWMA. The blend leans on the
  recent level while history is short (a brand that just appeared, or a data
  set of nine days) and on the seasonal profile once it has a few days.
  Hourly counts are winsorised before they update the baseline, so a burst does
  not teach the detector that bursts are normal.
* For each window the expected count mu gives a critical count: the smallest c
  with P(X >= c) <= alpha under a negative binomial with mean mu (Poisson plus
  overdispersion, because real mention streams are burstier than Poisson),
  and never below `min_volume` or `min_ratio x mu`. Thresholds are recomputed
  once an hour per stream and cached by mu, so a mention costs a few integer
  additions and comparisons.

Alert hygiene: one open alert per stream/kind until its condition has been clear
for `clear_minutes`; at most `max_alerts_per_hour` per brand; quiet hours either
suppress alerts or defer them to the end of the quiet period.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

__all__ = [
    "ALERT_KINDS",
    "Alert",
    "DetectorConfig",
    "CrisisDetector",
    "normalise_sentiment",
    "iso_utc",
]

ALERT_KINDS = ("negative_spike", "sentiment_drop", "viral_post", "hashtag_hijack")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_RING = 64  # minutes kept; must exceed the longest window
_MASK = _RING - 1


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
    # negative_spike
    windows_min: tuple[int, ...] = (5, 10, 20, 30)
    alpha: float = 1e-6
    overdispersion: float = 0.06  # NB: var = mu + overdispersion * mu**2
    min_volume: int = 18  # negatives in a window before anything can fire
    min_ratio: float = 2.0  # observed must be at least this multiple of expected
    warmup_hours: float = 6.0  # stream history needed before alerting...
    warmup_negatives: int = 30  # ...and this many negatives seen, so a trickle cannot set the baseline
    level_halflife_hours: float = 24.0
    recent_halflife_hours: float = 2.0
    profile_days_full: float = 3.0  # days of history before the seasonal profile gets full weight
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
                if name in ("windows_min", "enabled_kinds") and isinstance(value, list):
                    value = tuple(value)
                if name == "quiet_hours" and isinstance(value, list):
                    value = (int(value[0]), int(value[1]))
                setattr(cfg, name, value)
        return cfg


@lru_cache(maxsize=65536)
def _critical_count(mu_q: int, alpha: float, overdispersion: float) -> int:
    """Smallest c with P(X >= c) <= alpha, X ~ NB(mean mu, var mu + k mu^2); mu = mu_q / 100."""
    mu = max(mu_q / 100.0, 1e-6)
    if overdispersion <= 0:
        # Poisson: walk the pmf.
        p = math.exp(-mu)
        cdf = p
        c = 0
        while 1.0 - cdf > alpha and c < 100_000:
            c += 1
            p *= mu / c
            cdf += p
        return c + 1
    r = 1.0 / overdispersion
    q = r / (r + mu)  # success probability
    # pmf(0) = q^r; pmf(c) = pmf(c-1) * (c - 1 + r) / c * (1 - q)
    p = q**r
    cdf = p
    c = 0
    while 1.0 - cdf > alpha and c < 100_000:
        c += 1
        p *= (c - 1 + r) / c * (1.0 - q)
        cdf += p
    return c + 1


def _nb_tail_score(observed: float, mu: float) -> float:
    """A readable strength: -log10 of a normal-approximation tail, capped."""
    var = mu + 0.08 * mu * mu
    z = (observed - mu) / math.sqrt(max(var, 1e-9))
    return round(min(z, 99.0), 2)


class _Stream:
    """State of one (brand, key) stream."""

    __slots__ = (
        "brand", "key", "first_ts", "hour", "hour_neg", "hour_tot", "hours_seen",
        "level", "recent", "prof", "prof_n", "how", "how_n", "share", "share_n",
        "minute", "neg_ring", "tot_ring", "neg_sums", "tot_share", "neg_share",
        "crit", "exp_win", "exp_hour", "examples", "open", "last_exceed",
        "tag_events", "seen_viral", "warm", "neg_seen",
    )  # fmt: skip

    def __init__(self, brand: str, key: str, ts: float, n_windows: int) -> None:
        self.brand = brand
        self.key = key
        self.first_ts = ts
        self.hour = int(ts // 3600)
        self.hour_neg = 0
        self.hour_tot = 0
        self.hours_seen = 0
        self.level = -1.0  # deseasonalised negatives per hour; <0 = unknown
        self.recent = -1.0
        self.prof = [1.0] * 24
        self.prof_n = [0] * 24
        self.how = [1.0] * 168
        self.how_n = [0] * 168
        self.share = 0.5
        self.share_n = 0.0
        self.minute = int(ts // 60)
        self.neg_ring = [0] * _RING
        self.tot_ring = [0] * _RING
        self.neg_sums = [0] * n_windows
        self.tot_share = 0
        self.neg_share = 0
        self.crit = [1 << 30] * n_windows
        self.exp_win = [0.0] * n_windows
        self.exp_hour = 0.0
        self.examples: deque[str] = deque(maxlen=3)
        self.open: dict[str, float] = {}  # kind(+tag) -> opened at
        self.last_exceed: dict[str, float] = {}
        self.tag_events: dict[str, deque[tuple[float, bool]]] = {}
        self.seen_viral: set[int] = set()
        self.warm = False
        self.neg_seen = 0


class CrisisDetector:
    """All four detectors over any number of brands. Feed `observe` in time order.

    >>> det = CrisisDetector(DetectorConfig())
    >>> alerts = det.observe(ts, "United", "negative", text="...")  # doctest: +SKIP
    """

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = cfg = config or DetectorConfig()
        self._windows = tuple(sorted(int(w) for w in cfg.windows_min))
        if not self._windows or self._windows[-1] >= _RING or self._windows[0] < 1:
            raise ValueError(f"windows must be between 1 and {_RING - 1} minutes")
        if cfg.share_window_min >= _RING:
            raise ValueError(f"share_window_min must be below {_RING}")
        sens = max(cfg.sensitivity, 1e-3)
        self._alpha = min(cfg.alpha ** (1.0 / sens), 0.5)
        self._share_z = cfg.share_z / sens
        self._a_level = 1.0 - 0.5 ** (1.0 / max(cfg.level_halflife_hours, 1e-3))
        self._a_recent = 1.0 - 0.5 ** (1.0 / max(cfg.recent_halflife_hours, 1e-3))
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._relearn_min = max(int(cfg.relearn_after_hours * 60), _RING)
        self._brand_alert_times: dict[str, deque[float]] = {}
        self._deferred: list[Alert] = []
        self._kinds = frozenset(cfg.enabled_kinds)
        self._tags = {
            b: [t.lower() if t.startswith("#") else "#" + t.lower() for t in tags] for b, tags in cfg.hashtags.items()
        }
        self.suppressed = 0  # alerts dropped by rate limit or quiet hours
        self.mentions = 0

    # ------------------------------------------------------------------ public
    def observe(
        self,
        ts: float | datetime,
        brand: str,
        sentiment: str,
        retweets: int = 0,
        followers: int = 0,
        text: str = "",
        key: str = "",
    ) -> list[Alert]:
        """Account one mention; return the alerts it triggers (usually none)."""
        if not isinstance(ts, int | float):
            ts = ts.timestamp()
        self.mentions += 1
        st = self._streams.get((brand, key))
        if st is None:
            st = self._streams[(brand, key)] = _Stream(brand, key, ts, len(self._windows))
            self._recompute(st)
        out: list[Alert] | None = None
        if self._deferred:
            out = self._release_deferred(ts)
        minute = int(ts // 60)
        if minute > st.minute:
            if minute - st.minute >= self._relearn_min:
                st = self._streams[(brand, key)] = _Stream(brand, key, ts, len(self._windows))
                self._recompute(st)
            else:
                self._advance(st, minute, ts)
        neg = sentiment == "negative"
        st.tot_ring[st.minute & _MASK] += 1
        st.hour_tot += 1
        st.tot_share += 1
        if neg:
            st.neg_ring[st.minute & _MASK] += 1
            st.hour_neg += 1
            st.neg_share += 1
            if text:
                st.examples.append(text)
            sums = st.neg_sums
            crit = st.crit
            fired = False
            for i in range(len(sums)):
                sums[i] += 1
                if sums[i] >= crit[i]:
                    fired = True
            if fired and st.warm:
                a = self._spike(st, ts)
                if a is not None:
                    out = (out or []) + a
            if st.warm and st.tot_share >= self.config.share_min_volume:
                a = self._share(st, ts)
                if a is not None:
                    out = (out or []) + a
        if (retweets >= self.config.viral_min_retweets or followers >= self.config.viral_min_followers) and (
            neg or not self.config.viral_negative_only
        ):
            a = self._viral(st, ts, retweets, followers, text, neg)
            if a is not None:
                out = (out or []) + a
        if text and brand in self._tags and "#" in text:
            a = self._hijack(st, ts, text, neg)
            if a is not None:
                out = (out or []) + a
        return out if out is not None else []

    def observe_many(self, rows: Iterable[Sequence[Any]]) -> list[Alert]:
        """Replay `(ts, brand, sentiment, retweets, followers, text)` tuples; return all alerts."""
        alerts: list[Alert] = []
        obs = self.observe
        for ts, brand, sentiment, retweets, followers, text in rows:
            a = obs(ts, brand, sentiment, retweets, followers, text)
            if a:
                alerts.extend(a)
        return alerts

    def flush(self, now: float | None = None) -> list[Alert]:
        """Release deferred alerts (end of a backtest, or a periodic tick)."""
        if not self._deferred:
            return []
        out = []
        for a in self._deferred:
            if now is not None:
                a.deferred_from, a.detected_at = a.detected_at, max(now, a.detected_at)
            out.append(a)
        self._deferred = []
        return out

    def expected_per_hour(self, brand: str, key: str = "") -> float | None:
        """The current expected negatives per hour of a stream (for charts and tests)."""
        st = self._streams.get((brand, key))
        return None if st is None else st.exp_hour

    # ---------------------------------------------------------------- baseline
    def _advance(self, st: _Stream, minute: int, ts: float) -> None:
        """Move the stream's clock to `minute`: slide windows, close hours, recompute thresholds."""
        gap = minute - st.minute
        ws = self._windows
        sums = st.neg_sums
        nring = st.neg_ring
        tring = st.tot_ring
        sw = self.config.share_window_min
        if gap >= _RING:
            for i in range(_RING):
                nring[i] = 0
                tring[i] = 0
            for i in range(len(sums)):
                sums[i] = 0
            st.tot_share = 0
            st.neg_share = 0
        else:
            for q in range(st.minute + 1, minute + 1):
                for i, w in enumerate(ws):
                    sums[i] -= nring[(q - w) & _MASK]
                j = (q - sw) & _MASK
                st.neg_share -= nring[j]
                st.tot_share -= tring[j]
                nring[q & _MASK] = 0
                tring[q & _MASK] = 0
        st.minute = minute
        hour = minute // 60
        if hour > st.hour:
            self._close_hours(st, hour)
            self._recompute(st)
            if (
                not st.warm
                and ts - st.first_ts >= self.config.warmup_hours * 3600
                and st.neg_seen >= self.config.warmup_negatives
            ):
                st.warm = True
        # close alerts whose condition has been clear long enough
        if st.open:
            clear = self.config.clear_minutes * 60
            for k in [k for k, t in st.last_exceed.items() if ts - t >= clear]:
                st.open.pop(k, None)
                del st.last_exceed[k]

    def _close_hours(self, st: _Stream, hour: int) -> None:
        """Fold the finished hour (and any empty hours after it) into the baseline."""
        cfg = self.config
        n_hours = min(hour - st.hour, 24 * 14)
        neg = st.hour_neg
        tot = st.hour_tot
        h = st.hour
        for _ in range(n_hours):
            hod = h % 24
            how = (h + cfg.tz_offset_minutes // 60) % 168
            if st.level < 0:
                # first hour: seed both levels with it (a partial hour under-counts; fine, warm-up covers it)
                st.level = st.recent = max(float(neg), cfg.min_expected_per_hour)
            else:
                exp = max(st.exp_hour, cfg.min_expected_per_hour)
                cap = exp + 3.0 * math.sqrt(exp) + 3.0
                used = neg if neg <= cap else cap  # winsorise: bursts must not become the norm
                prof = st.prof[hod]
                st.level += self._a_level * (used / max(prof, 0.05) - st.level)
                st.recent += self._a_recent * (used - st.recent)
                if st.level > 0:
                    n = st.prof_n[hod]
                    b = 1.0 / (n + 2.0) if n < 3 else 0.3  # shrink early estimates toward 1
                    st.prof[hod] = prof + b * (used / st.level - prof)
                    st.prof_n[hod] = n + 1
                    n2 = st.how_n[how]
                    st.how[how] += (1.0 / (n2 + 1.0)) * (used / st.level - st.how[how])
                    st.how_n[how] = n2 + 1
            if tot:
                w = min(tot, 50) / 50.0 * 0.3
                st.share += w * (neg / tot - st.share)
                st.share_n += tot
            st.hours_seen += 1
            st.neg_seen += neg
            h += 1
            neg = tot = 0
        st.hour = hour
        st.hour_neg = 0
        st.hour_tot = 0

    def _recompute(self, st: _Stream) -> None:
        """Expected negatives for the current hour, and each window's critical count."""
        cfg = self.config
        if st.level < 0:
            st.exp_hour = cfg.min_expected_per_hour
        else:
            h = st.hour
            how = (h + cfg.tz_offset_minutes // 60) % 168
            shape = st.how[how] if st.how_n[how] >= 2 else st.prof[h % 24]
            seasonal = st.level * shape
            w = min(1.0, st.hours_seen / (24.0 * cfg.profile_days_full))
            st.exp_hour = max(w * seasonal + (1.0 - w) * st.recent, cfg.min_expected_per_hour)
        per_min = st.exp_hour / 60.0
        for i, win in enumerate(self._windows):
            mu = per_min * win
            st.exp_win[i] = mu
            c = _critical_count(int(mu * 100 + 0.5), self._alpha, cfg.overdispersion)
            st.crit[i] = max(c, cfg.min_volume, math.ceil(mu * cfg.min_ratio))

    # --------------------------------------------------------------- detectors
    def _spike(self, st: _Stream, ts: float) -> list[Alert] | None:
        st.last_exceed["negative_spike"] = ts
        if "negative_spike" in st.open or "negative_spike" not in self._kinds:
            return None
        # the window that exceeds its threshold by the widest margin explains the alert
        best = max(
            (i for i in range(len(self._windows)) if st.neg_sums[i] >= st.crit[i]),
            key=lambda i: st.neg_sums[i] / max(st.exp_win[i], 1e-9),
        )
        win = self._windows[best]
        obs = st.neg_sums[best]
        mu = st.exp_win[best]
        ratio = obs / max(mu, 1e-9)
        local = ts + self.config.tz_offset_minutes * 60
        dt = datetime.fromtimestamp(local, UTC)
        when = f"{_DAYS[dt.weekday()]} {dt.hour:02d}:00"
        msg = f"Negative mentions {ratio:.1f}× the usual for {when}: {obs} in {win} min, expected {mu:.1f}"
        alert = Alert(
            detected_at=ts,
            kind="negative_spike",
            brand=st.brand,
            window_start=(st.minute - win + 1) * 60.0,
            expected=mu,
            observed=float(obs),
            score=_nb_tail_score(obs, mu),
            message=msg,
            examples=list(st.examples),
            key=st.key,
        )
        return self._emit(st, "negative_spike", alert)

    def _share(self, st: _Stream, ts: float) -> list[Alert] | None:
        cfg = self.config
        n = st.tot_share
        k = st.neg_share
        p0 = min(max(st.share, 0.02), 0.98)
        if st.share_n < 3 * cfg.share_min_volume:
            return None
        share = k / n
        if share - p0 < cfg.share_min_delta:
            return None
        z = (k - n * p0) / math.sqrt(n * p0 * (1.0 - p0))
        if z < self._share_z:
            return None
        st.last_exceed["sentiment_drop"] = ts
        if "sentiment_drop" in st.open or "sentiment_drop" not in self._kinds:
            return None
        msg = (
            f"Negative share {share:.0%} over the last {cfg.share_window_min} min "
            f"against a usual {p0:.0%} ({k} of {n} mentions)"
        )
        alert = Alert(
            detected_at=ts,
            kind="sentiment_drop",
            brand=st.brand,
            window_start=(st.minute - cfg.share_window_min + 1) * 60.0,
            expected=p0,
            observed=share,
            score=round(z, 2),
            message=msg,
            examples=list(st.examples),
            key=st.key,
        )
        return self._emit(st, "sentiment_drop", alert)

    def _viral(self, st: _Stream, ts: float, retweets: int, followers: int, text: str, neg: bool) -> list[Alert] | None:
        if "viral_post" not in self._kinds:
            return None
        h = hash((text, st.brand))
        if h in st.seen_viral:
            return None
        st.seen_viral.add(h)
        cfg = self.config
        score = max(retweets / max(cfg.viral_min_retweets, 1), followers / max(cfg.viral_min_followers, 1))
        tone = "negative " if neg else ""
        msg = f"A {tone}post is spreading: {retweets} retweets, author has {followers:,} followers"
        alert = Alert(
            detected_at=ts,
            kind="viral_post",
            brand=st.brand,
            window_start=ts,
            expected=float(cfg.viral_min_retweets),
            observed=float(retweets),
            score=round(score, 2),
            message=msg,
            examples=[text] if text else [],
            key=st.key,
        )
        # each post is its own incident: no per-kind de-duplication, only the rate limit
        return self._emit(st, "", alert)

    def _hijack(self, st: _Stream, ts: float, text: str, neg: bool) -> list[Alert] | None:
        low = text.lower()
        cfg = self.config
        out: list[Alert] | None = None
        horizon = ts - cfg.hijack_window_min * 60
        for tag in self._tags[st.brand]:
            i = low.find(tag)
            if i < 0:
                continue
            end = i + len(tag)
            if end < len(low) and (low[end].isalnum() or low[end] == "_"):
                continue
            ev = st.tag_events.setdefault(tag, deque())
            ev.append((ts, neg))
            while ev and ev[0][0] < horizon:
                ev.popleft()
            n = len(ev)
            if n < cfg.hijack_min_volume:
                continue
            k = sum(1 for _, b in ev if b)
            share = k / n
            if share < max(cfg.hijack_min_share, min(st.share + 0.2, 0.95)):
                continue
            kind_key = "hashtag_hijack" + tag
            st.last_exceed[kind_key] = ts
            if kind_key in st.open or "hashtag_hijack" not in self._kinds:
                continue
            msg = (
                f"{tag} is turning negative: {k} of {n} mentions in {cfg.hijack_window_min} min "
                f"are negative (usual {st.share:.0%})"
            )
            alert = Alert(
                detected_at=ts,
                kind="hashtag_hijack",
                brand=st.brand,
                window_start=ev[0][0],
                expected=st.share,
                observed=share,
                score=round(share / max(st.share, 0.05), 2),
                message=msg,
                examples=list(st.examples),
                key=tag,
            )
            a = self._emit(st, kind_key, alert)
            if a:
                out = (out or []) + a
        return out

    # ----------------------------------------------------------------- hygiene
    def _emit(self, st: _Stream, open_key: str, alert: Alert) -> list[Alert] | None:
        """Apply de-duplication, rate limit and quiet hours to a fresh alert."""
        cfg = self.config
        if open_key:
            st.open[open_key] = alert.detected_at
            st.last_exceed[open_key] = alert.detected_at
        ts = alert.detected_at
        times = self._brand_alert_times.setdefault(st.brand, deque())
        while times and times[0] <= ts - 3600:
            times.popleft()
        if len(times) >= cfg.max_alerts_per_hour:
            self.suppressed += 1
            return None
        if cfg.quiet_hours is not None:
            end = self._quiet_end(ts)
            if end is not None:
                if cfg.quiet_mode == "suppress":
                    self.suppressed += 1
                    return None
                alert.deferred_from = ts
                alert.detected_at = end
                alert.message += " (deferred from quiet hours)"
                times.append(ts)
                self._deferred.append(alert)
                return None
        times.append(ts)
        return [alert]

    def _quiet_end(self, ts: float) -> float | None:
        """If `ts` falls in quiet hours, the epoch second they end; else None."""
        assert self.config.quiet_hours is not None
        start, end = self.config.quiet_hours
        off = self.config.tz_offset_minutes * 60
        local = ts + off
        day = math.floor(local / 86400) * 86400
        hour = (local - day) / 3600
        if start == end:
            return None
        if start < end:
            inside = start <= hour < end
            end_local = day + end * 3600
        else:
            inside = hour >= start or hour < end
            end_local = day + end * 3600 + (86400 if hour >= start else 0)
        return end_local - off if inside else None

    def _release_deferred(self, ts: float) -> list[Alert] | None:
        due = [a for a in self._deferred if a.detected_at <= ts]
        if not due:
            return None
        self._deferred = [a for a in self._deferred if a.detected_at > ts]
        return due
