"""A bank of Poisson CUSUMs over a stream's negatives per minute: the negative_spike detector's evidence.

Pure python. Fixed windows (the earlier detector) must choose between short
windows, which need a big burst, and long ones, which are slow; and a floor on
the window count blinds small brands. A CUSUM accumulates evidence instead: for
a rate jump by a factor k, each minute with x negatives where lambda are
expected adds the log-likelihood ratio ``x*ln(k) - (k-1)*lambda``; the sum is
reset at 0 and alarms at a threshold h. A small brand's 8 posts in ten minutes
where 2 an hour are usual cross h as surely as a loud brand's hundred; a mild
but long burst crosses it by accumulating. One CUSUM per jump factor (2x, 3x,
5x, 8x by default) so both mild long bursts and sharp short ones are caught
near the matched optimum.

Thresholds are set per jump factor and per expected rate from a false-alarm
budget, not one constant: with Poisson minute counts of mean lambda, the CUSUM
for jump k drifts down by ``lambda*((k-1) - ln k)`` a minute, and Siegmund's
approximation gives its mean run length before a false alarm as
``(e^h - h - 1) / drift`` minutes. Solving that for h at the budget
(`cusum_arl0_weeks` per stream, shared by the jumps) gives a lower threshold for a
quiet stream, whose evidence comes slowly, and for a mild jump than one
``h = ln(ARL)`` would: that constant bound is right only near one mention a minute
and blinded small brands. `sensitivity` divides h (higher sensitivity, lower
threshold, more alerts). Expected rates come from the stream's seasonal baseline
(`detector_baseline.py`), which stops learning upward while an alarm is active.

Cost: a few float operations per stream per minute, and per negative mention.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from hubbub.listening.detector_baseline import MASK, RING, StreamState
from hubbub.listening.detector_types import DetectorConfig

MINUTES_PER_WEEK = 7 * 24 * 60


def cusum_threshold(arl0_weeks: float, n_jumps: int, sensitivity: float, jump: float = 3.0, lam: float = 1.0) -> float:
    """The alarm threshold h of the jump-`jump` CUSUM over minute counts of mean `lam`.

    The budget is one false alarm per `arl0_weeks` per stream, split over the `n_jumps` CUSUMs;
    h solves Siegmund's ``(e^h - h - 1) / drift = ARL`` (drift: the CUSUM's mean fall per minute).
    """
    arl0 = max(arl0_weeks, 1e-6) * MINUTES_PER_WEEK * max(n_jumps, 1)
    drift = max(lam, 1e-6) * max(jump - 1.0 - math.log(jump), 1e-9)
    target = max(arl0 * drift, 2.0)
    h = math.log(target)
    for _ in range(8):  # fixed point of e^h = target + h + 1, converges in a few steps
        h = math.log(target + h + 1.0)
    return max(h / max(sensitivity, 1e-3), 0.5)


@lru_cache(maxsize=65536)
def _thresholds(lam_q: int, jumps: tuple[float, ...], arl0_weeks: float, sensitivity: float) -> tuple[float, ...]:
    """Every jump's h for a reference rate of `lam_q` / 10000 per minute (cached: rates change hourly)."""
    lam = lam_q / 10000.0
    return tuple(cusum_threshold(arl0_weeks, len(jumps), sensitivity, k, lam) for k in jumps)


class CusumBank:
    """Per-minute CUSUM updates and crossing checks for every stream of one detector."""

    def __init__(self, config: DetectorConfig, sensitivity: float) -> None:
        self.config = config
        self.log_k = [math.log(k) for k in config.cusum_jumps]
        self.k_1 = [k - 1.0 for k in config.cusum_jumps]
        self.k_max = max(config.cusum_jumps)
        self.jumps = tuple(float(k) for k in config.cusum_jumps)
        self.sensitivity = sensitivity
        self.margin = config.cusum_margin / 60.0  # per hour -> per minute, with the margin

    def reference(self, st: StreamState) -> float:
        """The rate (per minute) the jumps are measured against: expected x margin.

        A stream that has not yet seen its daily cycle a few times gets a wider margin (fading to none
        over `profile_days_full`): its first mornings would otherwise look like bursts.
        """
        cfg = self.config
        young = max(0.0, 1.0 - st.hours_seen / (24.0 * cfg.profile_days_full))
        return st.exp_hour * self.margin * (1.0 + cfg.cusum_young_margin * young)

    def thresholds(self, lam: float) -> tuple[float, ...]:
        """Each jump's alarm threshold at reference rate `lam` per minute."""
        return _thresholds(int(lam * 10000.0 + 0.5), self.jumps, self.config.cusum_arl0_weeks, self.sensitivity)

    def minute_cap(self, lam: float) -> int:
        """Most negatives one minute may add: clustered posts (a thread, one user's rapid fire) are
        not independent evidence; a genuine burst spreads over minutes. Twice the largest jump's rate."""
        return max(self.config.cusum_minute_cap, math.ceil(2.0 * self.k_max * lam))

    def close_minutes(self, st: StreamState, minute: int) -> None:
        """Fold the finished minute `st.minute` (and the empty ones up to `minute`) into the sums.

        Called before the baseline moves on, so lambda is the finished minute's hour's rate.
        """
        lam, cap, _h = st.cusum_ref
        x = min(st.neg_ring[st.minute & MASK] - st.cusum_used, cap)
        st.cusum_used = 0
        empty = min(minute - st.minute - 1, RING * 1000)
        s, n, t0 = st.cusum_s, st.cusum_n, st.cusum_t0
        max_run = self.config.cusum_max_run_min
        for i in range(len(s)):
            v = s[i] + x * self.log_k[i] - self.k_1[i] * lam
            if v > 0.0 and empty > 0:
                v -= empty * self.k_1[i] * lam  # clamping at 0 commutes with the empty minutes' decrements
            if v <= 0.0 or (max_run and st.minute - t0[i] >= max_run and s[i] > 0.0):
                s[i] = 0.0
                n[i] = 0
                t0[i] = minute
            else:
                if s[i] == 0.0:
                    t0[i] = st.minute
                s[i] = v
                n[i] += x

    def refresh(self, st: StreamState) -> None:
        """Cache the stream's reference rate, minute cap and thresholds: they change only with the baseline
        (hourly), while `crossing` runs for every negative mention."""
        lam = self.reference(st)
        st.cusum_ref = (lam, self.minute_cap(lam), self.thresholds(lam))

    def crossing(self, st: StreamState) -> int | None:
        """The jump whose CUSUM, counting this minute's negatives so far, crosses h by most; None if none."""
        lam, cap, h = st.cusum_ref
        cur = min(st.neg_ring[st.minute & MASK] - st.cusum_used, cap)
        best = None
        excess = 0.0
        s, n = st.cusum_s, st.cusum_n
        min_volume = self.config.cusum_min_volume
        log_k, k_1 = self.log_k, self.k_1
        for i in range(len(s)):
            v = s[i] + cur * log_k[i] - k_1[i] * lam - h[i]
            if v >= excess and n[i] + cur >= min_volume:
                best, excess = i, v
        return best

    def evidence(self, st: StreamState, i: int) -> tuple[int, float, int]:
        """(negatives, expected, minutes) of jump `i`'s current run, for the alert's wording."""
        cur = st.neg_ring[st.minute & MASK] - st.cusum_used
        start = st.cusum_t0[i] if st.cusum_s[i] > 0.0 else st.minute
        minutes = st.minute - start + 1
        return st.cusum_n[i] + cur, st.exp_hour / 60.0 * minutes, minutes

    def restart(self, st: StreamState, ts: float) -> None:
        """After a crossing: start collecting evidence afresh and note the alarm episode."""
        st.cusum_used = st.neg_ring[st.minute & MASK]
        for i in range(len(st.cusum_s)):
            st.cusum_s[i] = 0.0
            st.cusum_n[i] = 0
            st.cusum_t0[i] = st.minute
        if ts - st.alarm_last > self.config.clear_minutes * 60.0:
            st.alarm_start = ts
        st.alarm_last = ts


# what survives a restart: the learnt baseline, the evidence, the open alerts (not texts or caches)
_PERSISTED = (
    "first_ts", "hour", "hour_neg", "hour_tot", "hours_seen", "level", "recent", "prof", "prof_n",
    "how", "how_n", "share", "share_n", "minute", "neg_ring", "tot_ring", "neg_sums", "tot_share",
    "neg_share", "warm", "neg_seen", "cusum_s", "cusum_n", "cusum_t0", "cusum_used", "alarm_start",
    "alarm_last", "open", "last_exceed",
)  # fmt: skip


def stream_state(st: StreamState) -> dict[str, Any]:
    """A JSON-ready copy of a stream's persisted state."""
    out: dict[str, Any] = {}
    for name in _PERSISTED:
        value = getattr(st, name)
        out[name] = list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value
    return out


def restore_stream(st: StreamState, data: dict[str, Any]) -> None:
    """Load `stream_state` output into a fresh stream; parts whose shape changed with the config stay fresh."""
    for name in _PERSISTED:
        if name not in data:
            continue
        value = data[name]
        current = getattr(st, name)
        if isinstance(current, list) and (not isinstance(value, list) or len(value) != len(current)):
            continue
        setattr(st, name, value)
