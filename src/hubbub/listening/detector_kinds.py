"""The four alert kinds of the crisis detectors (`detectors.py`): when a stream's numbers make an alert.

Pure python. Each kind checks its condition on a stream the baseline keeps
(`detector_baseline.py`), words the alert and hands it to `emit`, the
detector's alert hygiene (de-duplication, rate limit, quiet hours).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from hubbub.listening.detector_baseline import StreamState, tail_score
from hubbub.listening.detector_terms import burst_summary
from hubbub.listening.detector_types import Alert, DetectorConfig

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Emit = Callable[[StreamState, str, Alert], "list[Alert] | None"]


class KindDetectors:
    """negative_spike, sentiment_drop, viral_post and hashtag_hijack over the streams of one detector."""

    def __init__(
        self, config: DetectorConfig, windows: tuple[int, ...], share_z: float, tags: dict[str, list[str]], emit: Emit
    ) -> None:
        self.config = config
        self._windows = windows
        self._share_z = share_z
        self._kinds = frozenset(config.enabled_kinds)
        self._tags = tags  # brand -> its own hashtags, lower-case with "#"
        self._emit = emit

    def negative_spike(self, st: StreamState, ts: float) -> list[Alert] | None:
        st.last_exceed["negative_spike"] = ts
        if "negative_spike" in st.open or "negative_spike" not in self._kinds:
            return None
        # the window that exceeds its threshold by the widest margin explains the alert
        best = max(
            (i for i in range(len(self._windows)) if st.neg_sums[i] >= st.crit[i]),
            key=lambda i: st.neg_sums[i] / max(st.exp_win[i], 1e-9),
        )
        return self.spike_alert(st, ts, st.neg_sums[best], st.exp_win[best], self._windows[best])

    def cusum_spike(self, st: StreamState, ts: float, obs: int, mu: float, minutes: int) -> list[Alert] | None:
        """negative_spike from the CUSUM bank: `obs` negatives in the last `minutes` where `mu` were expected."""
        st.last_exceed["negative_spike"] = ts
        if "negative_spike" in st.open or "negative_spike" not in self._kinds:
            return None
        return self.spike_alert(st, ts, obs, mu, minutes)

    def spike_alert(self, st: StreamState, ts: float, obs: int, mu: float, minutes: int) -> list[Alert] | None:
        """Word a negative_spike (`obs` negatives in `minutes` where `mu` were expected) and emit it."""
        ratio = obs / max(mu, 1e-9)
        local = ts + self.config.tz_offset_minutes * 60
        dt = datetime.fromtimestamp(local, UTC)
        when = f"{_DAYS[dt.weekday()]} {dt.hour:02d}:00"
        start = (st.minute - minutes + 1) * 60.0
        terms, samples = burst_summary(st.neg_texts, start)
        about = f" about {', '.join(terms[:3])}" if terms else ""
        msg = (
            f"Negative mentions{about} {ratio:.1f}× the usual for {when}: {obs} where {mu:.1f} were expected, "
            f"building for {minutes} min"
        )
        alert = Alert(
            detected_at=ts,
            kind="negative_spike",
            brand=st.brand,
            window_start=start,
            expected=mu,
            observed=float(obs),
            score=tail_score(obs, mu),
            message=msg,
            examples=samples or list(st.examples),
            key=st.key,
            terms=terms,
        )
        return self._emit(st, "negative_spike", alert)

    def sentiment_drop(self, st: StreamState, ts: float) -> list[Alert] | None:
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

    def viral_post(
        self, st: StreamState, ts: float, retweets: int, followers: int, text: str, neg: bool
    ) -> list[Alert] | None:
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

    def hashtag_hijack(self, st: StreamState, ts: float, text: str, neg: bool) -> list[Alert] | None:
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
