"""The negative-volume baseline of the crisis detectors (`detectors.py`): per-stream state and its maths.

Pure python. A stream keeps a ring of one-minute counts and running sums over the
sliding windows; the expected negative rate is learnt once an hour (seasonal
level x profile, blended with a recent EWMA, from winsorised hourly counts), and
each window's critical count comes from a negative binomial tail, cached by mu.
See the module docstring of `detectors.py` for why.
"""

from __future__ import annotations

import math
from collections import deque
from functools import lru_cache

from hubbub.listening.detector_types import DetectorConfig

RING = 64  # minutes kept; must exceed the longest window
MASK = RING - 1
NEG_TEXTS = 240  # negative posts kept per stream for an alert's terms and samples


@lru_cache(maxsize=65536)
def critical_count(mu_q: int, alpha: float, overdispersion: float) -> int:
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


def tail_score(observed: float, mu: float) -> float:
    """A readable strength: -log10 of a normal-approximation tail, capped."""
    var = mu + 0.08 * mu * mu
    z = (observed - mu) / math.sqrt(max(var, 1e-9))
    return round(min(z, 99.0), 2)


class StreamState:
    """State of one (brand, key) stream."""

    __slots__ = (
        "brand", "key", "first_ts", "hour", "hour_neg", "hour_tot", "hours_seen",
        "level", "recent", "prof", "prof_n", "how", "how_n", "share", "share_n",
        "minute", "neg_ring", "tot_ring", "neg_sums", "tot_share", "neg_share",
        "crit", "exp_win", "exp_hour", "examples", "open", "last_exceed",
        "tag_events", "seen_viral", "warm", "neg_seen", "neg_texts",
        "cusum_s", "cusum_n", "cusum_t0", "cusum_used", "alarm_start", "alarm_last", "cusum_ref",
    )  # fmt: skip

    def __init__(self, brand: str, key: str, ts: float, n_windows: int, n_jumps: int = 4) -> None:
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
        self.neg_ring = [0] * RING
        self.tot_ring = [0] * RING
        self.neg_sums = [0] * n_windows
        self.tot_share = 0
        self.neg_share = 0
        self.crit = [1 << 30] * n_windows
        self.exp_win = [0.0] * n_windows
        self.exp_hour = 0.0
        self.examples: deque[str] = deque(maxlen=3)
        # the last negative posts with their times: what a spike is about (detector_terms.py)
        self.neg_texts: deque[tuple[float, str]] = deque(maxlen=NEG_TEXTS)
        self.open: dict[str, float] = {}  # kind(+tag) -> opened at
        self.last_exceed: dict[str, float] = {}
        self.tag_events: dict[str, deque[tuple[float, bool]]] = {}
        self.seen_viral: set[int] = set()
        self.warm = False
        self.neg_seen = 0
        # the CUSUM bank (detector_cusum.py): evidence, negatives and first minute of each jump's run
        self.cusum_s = [0.0] * n_jumps
        self.cusum_n = [0] * n_jumps
        self.cusum_t0 = [0] * n_jumps
        self.cusum_used = 0  # negatives of the current minute already spent on an alarm
        self.cusum_ref: tuple[float, int, tuple[float, ...]] = (0.0, 1 << 30, ())  # CusumBank.refresh
        self.alarm_start = -1e18  # first and latest crossing of the current alarm episode
        self.alarm_last = -1e18


class Baseline:
    """Learns every stream's expected negatives per hour and keeps its windows' critical counts."""

    def __init__(self, config: DetectorConfig, windows: tuple[int, ...], alpha: float) -> None:
        self.config = cfg = config
        self.windows = windows
        self.alpha = alpha
        self.a_level = 1.0 - 0.5 ** (1.0 / max(cfg.level_halflife_hours, 1e-3))
        self.a_recent = 1.0 - 0.5 ** (1.0 / max(cfg.recent_halflife_hours, 1e-3))

    def advance(self, st: StreamState, minute: int, ts: float) -> None:
        """Move the stream's clock to `minute`: slide windows, close hours, recompute thresholds, warm up."""
        gap = minute - st.minute
        ws = self.windows
        sums = st.neg_sums
        nring = st.neg_ring
        tring = st.tot_ring
        sw = self.config.share_window_min
        if gap >= RING:
            for i in range(RING):
                nring[i] = 0
                tring[i] = 0
            for i in range(len(sums)):
                sums[i] = 0
            st.tot_share = 0
            st.neg_share = 0
        else:
            for q in range(st.minute + 1, minute + 1):
                for i, w in enumerate(ws):
                    sums[i] -= nring[(q - w) & MASK]
                j = (q - sw) & MASK
                st.neg_share -= nring[j]
                st.tot_share -= tring[j]
                nring[q & MASK] = 0
                tring[q & MASK] = 0
        st.minute = minute
        hour = minute // 60
        if hour > st.hour:
            self.close_hours(st, hour)
            self.recompute(st)
            self.check_learnt(st, ts)

    def check_learnt(self, st: StreamState, ts: float) -> None:
        """End the stream's learning period once its history spans `warmup_hours` and holds enough negatives.

        The span runs from the stream's first mention to `ts`, a mention's time, never the wall clock:
        a backtest, a replay of history and the live stream then learn for the same day.
        """
        if not st.warm and ts - st.first_ts >= self.config.warmup_hours * 3600:
            st.warm = st.neg_seen >= self.config.warmup_negatives

    def close_hours(self, st: StreamState, hour: int) -> None:
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
                # winsorise (bursts must not become the norm), looser while the stream is young and its level
                # uncertain, and not at all upward while an alarm is active
                young = max(0.0, 1.0 - st.hours_seen / (24.0 * cfg.profile_days_full))
                cap = exp + (3.0 * math.sqrt(exp) + 3.0) * (1.0 + 3.0 * young)
                if self.frozen(st, h):
                    cap = exp
                used = neg if neg <= cap else cap
                prof = st.prof[hod]
                st.level += self.a_level * (used / max(prof, 0.05) - st.level)
                st.recent += self.a_recent * (used - st.recent)
                if st.level > 0:
                    n = st.prof_n[hod]
                    b = 1.0 / (n + 2.0) if n < 8 else 0.1  # shrink toward 1; ~10 days of memory, so noise is not shape
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

    def frozen(self, st: StreamState, hour: int) -> bool:
        """Whether an alarm covers `hour`: then the baseline may not learn upward, so an incident is not the norm.

        Capped at `cusum_freeze_hours` into an episode, so a lasting change of level is learnt in the end.
        """
        cfg = self.config
        start = hour * 3600.0
        recent = st.alarm_last >= start - cfg.clear_minutes * 60.0
        return recent and start + 3600.0 - st.alarm_start < cfg.cusum_freeze_hours * 3600.0

    def recompute(self, st: StreamState) -> None:
        """Expected negatives for the current hour, and each window's critical count."""
        cfg = self.config
        if st.level < 0:
            st.exp_hour = cfg.min_expected_per_hour
        else:
            h = st.hour
            how = (h + cfg.tz_offset_minutes // 60) % 168
            if st.how_n[how] >= 2:
                shape = st.how[how]
            else:
                # the hours around smooth the profile (weights 2:1 for +-1 h and +-2 h): a few days of history
                # are noise, not shape, and a burst is caught by its rise over the hours around it
                p, a = st.prof, cfg.profile_smooth
                near = p[(h - 1) % 24] + p[(h + 1) % 24]
                far = p[(h - 2) % 24] + p[(h + 2) % 24]
                shape = (1.0 - a) * p[h % 24] + a * (2.0 * near + far) / 6.0
            seasonal = st.level * shape
            w = min(1.0, st.hours_seen / (24.0 * cfg.profile_days_full))
            st.exp_hour = max(w * seasonal + (1.0 - w) * st.recent, cfg.min_expected_per_hour)
        per_min = st.exp_hour / 60.0
        for i, win in enumerate(self.windows):
            mu = per_min * win
            st.exp_win[i] = mu
            c = critical_count(int(mu * 100 + 0.5), self.alpha, cfg.overdispersion)
            st.crit[i] = max(c, cfg.min_volume, math.ceil(mu * cfg.min_ratio))
