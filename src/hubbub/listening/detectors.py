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

The pieces: `detector_types.py` (the config and the alert), `detector_baseline.py`
(stream state, expected rates and critical counts), `detector_kinds.py` (the four
alert kinds); `CrisisDetector` here feeds them and applies the alert hygiene.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from hubbub.listening.detector_baseline import MASK, RING, Baseline, StreamState
from hubbub.listening.detector_cusum import CusumBank, restore_stream, stream_state
from hubbub.listening.detector_kinds import KindDetectors
from hubbub.listening.detector_types import ALERT_KINDS, Alert, DetectorConfig, iso_utc, normalise_sentiment

__all__ = [
    "ALERT_KINDS",
    "Alert",
    "DetectorConfig",
    "CrisisDetector",
    "normalise_sentiment",
    "iso_utc",
]


class CrisisDetector:
    """All four detectors over any number of brands. Feed `observe` in time order.

    >>> det = CrisisDetector(DetectorConfig())
    >>> alerts = det.observe(ts, "United", "negative", text="...")  # doctest: +SKIP
    """

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = cfg = config or DetectorConfig()
        self._windows = tuple(sorted(int(w) for w in cfg.windows_min))
        if not self._windows or self._windows[-1] >= RING or self._windows[0] < 1:
            raise ValueError(f"windows must be between 1 and {RING - 1} minutes")
        if cfg.share_window_min >= RING:
            raise ValueError(f"share_window_min must be below {RING}")
        sens = max(cfg.sensitivity, 1e-3)
        self._baseline = Baseline(cfg, self._windows, alpha=min(cfg.alpha ** (1.0 / sens), 0.5))
        self._streams: dict[tuple[str, str], StreamState] = {}
        self._relearn_min = max(int(cfg.relearn_after_hours * 60), RING)
        self._brand_alert_times: dict[str, deque[float]] = {}
        self._deferred: list[Alert] = []
        self._tags = {
            b: [t.lower() if t.startswith("#") else "#" + t.lower() for t in tags] for b, tags in cfg.hashtags.items()
        }
        self._detect = KindDetectors(cfg, self._windows, cfg.share_z / sens, self._tags, self._emit)
        self._cusum = CusumBank(cfg, sens) if cfg.spike_method in ("cusum", "both") else None
        self._windows_on = cfg.spike_method in ("windows", "both")
        self._n_jumps = len(cfg.cusum_jumps)
        self.suppressed = 0  # alerts dropped by rate limit or quiet hours
        self.mentions = 0
        # alerts before this epoch second are history being replayed: it trains the baselines, never alerts
        self.live_after: float | None = None
        self.replayed = 0

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
            st = self._new_stream(brand, key, ts)
        out: list[Alert] | None = None
        if self._deferred:
            out = self._release_deferred(ts)
        minute = int(ts // 60)
        if minute > st.minute:
            if minute - st.minute >= self._relearn_min:
                st = self._new_stream(brand, key, ts)
            else:
                self._advance(st, minute, ts)
        neg = sentiment == "negative"
        st.tot_ring[st.minute & MASK] += 1
        st.hour_tot += 1
        st.tot_share += 1
        if neg:
            st.neg_ring[st.minute & MASK] += 1
            st.hour_neg += 1
            st.neg_share += 1
            if text:
                st.examples.append(text)
                st.neg_texts.append((ts, text))
            sums = st.neg_sums
            crit = st.crit
            fired = False
            for i in range(len(sums)):
                sums[i] += 1
                if sums[i] >= crit[i]:
                    fired = True
            if self._cusum is not None:
                a = self._cusum_spike(st, ts)
                if a is not None:
                    out = (out or []) + a
            if fired and st.warm and self._windows_on:
                a = self._detect.negative_spike(st, ts)
                if a is not None:
                    out = (out or []) + a
            if st.warm and st.tot_share >= self.config.share_min_volume:
                a = self._detect.sentiment_drop(st, ts)
                if a is not None:
                    out = (out or []) + a
        if (retweets >= self.config.viral_min_retweets or followers >= self.config.viral_min_followers) and (
            neg or not self.config.viral_negative_only
        ):
            a = self._detect.viral_post(st, ts, retweets, followers, text, neg)
            if a is not None:
                out = (out or []) + a
        if text and brand in self._tags and "#" in text:
            a = self._detect.hashtag_hijack(st, ts, text, neg)
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

    def export_state(self) -> dict[str, dict[str, Any]]:
        """Every stream's learnt state by key, grouped per brand: `{brand: {key: state}}` (JSON-ready)."""
        out: dict[str, dict[str, Any]] = {}
        for (brand, key), st in self._streams.items():
            out.setdefault(brand, {})[key] = stream_state(st)
        return out

    def import_state(self, brand: str, streams: dict[str, Any]) -> None:
        """Restore a brand's streams from `export_state()[brand]`, e.g. after a worker restart."""
        for key, data in streams.items():
            st = self._new_stream(brand, key, float(data.get("first_ts", 0.0)))
            restore_stream(st, data)
            self._baseline.recompute(st)
            if self._cusum is not None:
                self._cusum.refresh(st)

    def note_history_start(self, brand: str, ts: float, key: str = "") -> None:
        """The stream's history began at `ts`, before the part replayed into it (a warm start replays only
        the last day): its learning period counts from there, so a restart does not make a known brand learn
        again."""
        st = self._streams.get((brand, key))
        if st is not None and ts < st.first_ts:
            st.first_ts = ts
            self._baseline.check_learnt(st, st.minute * 60.0)

    def _new_stream(self, brand: str, key: str, ts: float) -> StreamState:
        st = self._streams[(brand, key)] = StreamState(brand, key, ts, len(self._windows), self._n_jumps)
        self._baseline.recompute(st)
        if self._cusum is not None:
            self._cusum.refresh(st)
        return st

    def _cusum_spike(self, st: StreamState, ts: float) -> list[Alert] | None:
        """Check the CUSUM bank after a negative; on a crossing, restart it and word the alert."""
        assert self._cusum is not None
        i = self._cusum.crossing(st)
        if i is None:
            return None
        obs, mu, minutes = self._cusum.evidence(st, i)
        self._cusum.restart(st, ts)
        if not st.warm:
            return None
        return self._detect.cusum_spike(st, ts, obs, mu, minutes)

    def _advance(self, st: StreamState, minute: int, ts: float) -> None:
        """Move the stream's clock to `minute` (see `Baseline.advance`); close the alerts clear long enough."""
        hour = st.hour
        if self._cusum is not None:
            self._cusum.close_minutes(st, minute)
        self._baseline.advance(st, minute, ts)
        if self._cusum is not None and st.hour != hour:
            self._cusum.refresh(st)  # the baseline moves hourly, and the CUSUM's reference with it
        if st.open:
            clear = self.config.clear_minutes * 60
            for k in [k for k, t in st.last_exceed.items() if ts - t >= clear]:
                st.open.pop(k, None)
                del st.last_exceed[k]

    # ----------------------------------------------------------------- hygiene
    def _emit(self, st: StreamState, open_key: str, alert: Alert) -> list[Alert] | None:
        """Apply de-duplication, rate limit and quiet hours to a fresh alert."""
        cfg = self.config
        if self.live_after is not None and alert.detected_at < self.live_after:
            self.replayed += 1  # history: no alert, no open state, no rate-limit slot
            return None
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
