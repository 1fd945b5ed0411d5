"""The CUSUM negative_spike detector on seeded synthetic Poisson streams whose truth we know.

Each test states what a user would notice: an alert during a burst, silence on a normal day.
"""

from __future__ import annotations

import json
import math
import random

from hubbub.listening.detector_cusum import cusum_threshold
from hubbub.listening.detectors import Alert, CrisisDetector, DetectorConfig

T0 = 1_424_131_200.0  # Tue 2015-02-17 00:00 UTC
HOUR = 3600.0


def poisson_times(start: float, end: float, rate_per_hour: float, rng: random.Random) -> list[float]:
    out: list[float] = []
    t = start
    while rate_per_hour > 0:
        t += rng.expovariate(rate_per_hour / HOUR)
        if t >= end:
            break
        out.append(t)
    return out


def daily_profile(hour_of_day: float) -> float:
    """A loud brand's day: quiet at night, a peak in the afternoon (between 0.25 and 1.75)."""
    return 1.0 + 0.75 * math.sin((hour_of_day - 9.0) / 24.0 * 2 * math.pi)


def stream(
    hours: float, neg_per_hour: float, seed: int, seasonal: bool = False, start: float = T0
) -> list[tuple[float, str]]:
    """Negatives (and as many neutrals) as a Poisson process, hour by hour."""
    rng = random.Random(seed)
    rows: list[tuple[float, str]] = []
    for h in range(int(hours)):
        t0 = start + h * HOUR
        rate = neg_per_hour * (daily_profile((t0 / HOUR) % 24) if seasonal else 1.0)
        rows += [(t, "negative") for t in poisson_times(t0, t0 + HOUR, rate, rng)]
        rows += [(t, "neutral") for t in poisson_times(t0, t0 + HOUR, rate, rng)]
    return sorted(rows)


def burst(start: float, minutes: float, extra_per_hour: float, seed: int) -> list[tuple[float, str]]:
    rng = random.Random(seed)
    return [(t, "negative") for t in poisson_times(start, start + minutes * 60, extra_per_hour, rng)]


def replay(det: CrisisDetector, rows: list[tuple[float, str]], brand: str = "Acme") -> list[Alert]:
    out: list[Alert] = []
    for ts, sent in sorted(rows):
        out.extend(det.observe(ts, brand, sent, text=f"{sent} mention"))
    return [a for a in out if a.kind == "negative_spike"]


def within(alerts: list[Alert], start: float, end: float) -> list[Alert]:
    return [a for a in alerts if start <= a.detected_at <= end]


def test_a_small_brand_alerts_on_a_handful_of_angry_posts_within_the_burst() -> None:
    """2 negatives an hour are usual; a burst of ~12 more in 20 minutes must alert before it ends.

    The old fixed-window detector needed 18 negatives in a window, so a small brand never alerted.
    """
    caught = old = 0
    for seed in range(5):
        start = T0 + 4 * 24 * HOUR + 13 * HOUR
        rows = stream(4 * 24 + 16, 2.0, seed) + burst(start, 20, 36.0, seed + 100)
        caught += bool(within(replay(CrisisDetector(), rows), start, start + 20 * 60))
        windows = CrisisDetector(DetectorConfig(spike_method="windows"))
        old += bool(within(replay(windows, rows), start, start + 20 * 60))
    assert caught >= 4
    assert old < caught


def test_a_small_brand_three_times_burst_of_forty_minutes_alerts_at_raised_sensitivity() -> None:
    """A 3x burst on 2/h is ~3 extra posts in 40 min: only noticed when the user asks for more alerts,
    and a strict setting stays silent on the same data."""
    start = T0 + 4 * 24 * HOUR + 13 * HOUR
    hits = {0.5: 0, 3.0: 0}
    for seed in range(6):
        rows = stream(4 * 24 + 16, 2.0, seed) + burst(start, 40, 10.0, seed + 200)
        for sens in hits:
            hits[sens] += bool(
                within(replay(CrisisDetector(DetectorConfig(sensitivity=sens)), rows), start, start + 2400)
            )
    assert hits[3.0] > hits[0.5]


def test_a_loud_brands_normal_daily_peak_does_not_alert() -> None:
    for seed in range(3):
        rows = stream(6 * 24, 20.0, seed, seasonal=True)
        assert replay(CrisisDetector(), rows) == []


def test_a_long_incident_does_not_hide_the_next_burst() -> None:
    """Six hours of 4x negatives (a real incident) must not become the norm: a burst a day later alerts."""
    incident = T0 + 4 * 24 * HOUR + 8 * HOUR
    later = incident + 24 * HOUR
    caught = 0
    for seed in range(4):
        rows = stream(6 * 24, 6.0, seed) + burst(incident, 6 * 60, 18.0, seed + 300)
        rows += burst(later, 30, 60.0, seed + 400)
        det = CrisisDetector()
        before = replay(det, [r for r in rows if r[0] < later])
        assert within(before, incident, incident + 6 * HOUR)  # the incident itself was noticed
        usual = det.expected_per_hour("Acme")
        assert usual is not None and usual < (6.0 + 24.0) / 2  # nearer the usual 6/h than the incident's 24/h
        caught += bool(within(replay(det, [r for r in rows if r[0] >= later]), later, later + 30 * 60))
    assert caught >= 3


def test_the_baseline_survives_a_restart() -> None:
    """A detector rebuilt from stored state knows the brand at once: it expects the same and alerts alike."""
    history = stream(4 * 24, 6.0, seed=7)
    first = CrisisDetector()
    replay(first, history)
    saved = json.loads(json.dumps(first.export_state()))  # what the database keeps
    restarted = CrisisDetector()
    restarted.import_state("Acme", saved["Acme"])
    assert restarted.expected_per_hour("Acme") == first.expected_per_hour("Acme")
    start = history[-1][0] + 600
    after = stream(2, 6.0, seed=8, start=start) + burst(start + 1800, 20, 60.0, seed=9)
    a = within(replay(first, after), start + 1800, start + 3000)
    b = within(replay(restarted, after), start + 1800, start + 3000)
    assert a and b
    assert [x.detected_at for x in a] == [x.detected_at for x in b]


def test_replayed_history_trains_but_never_alerts() -> None:
    """An import of old mentions with a real incident in it: no alert for the past, a live burst still alerts."""
    incident = T0 + 3 * 24 * HOUR + 10 * HOUR
    history = stream(4 * 24, 6.0, seed=11) + burst(incident, 60, 60.0, seed=12)
    now = T0 + 4 * 24 * HOUR
    replaying = CrisisDetector()
    replaying.live_after = now - 15 * 60
    assert replay(replaying, history) == []
    assert replaying.replayed >= 1  # the past incident was seen, and kept quiet
    live = burst(now + 60, 20, 60.0, seed=13) + stream(1, 6.0, seed=14, start=now)
    assert within(replay(replaying, live), now, now + 1200)


def test_higher_sensitivity_lowers_the_threshold() -> None:
    assert cusum_threshold(50, 4, 2.0) < cusum_threshold(50, 4, 1.0) < cusum_threshold(50, 4, 0.5)
    assert cusum_threshold(1, 4, 1.0) < cusum_threshold(50, 4, 1.0)  # a smaller false-alarm budget is stricter


def test_thresholds_follow_the_rate_so_quiet_streams_need_less_evidence() -> None:
    """One constant h = ln(ARL) blinded small brands: their evidence comes slowly. Per rate, h drops."""
    quiet, loud = cusum_threshold(50, 4, 1.0, 3.0, lam=0.03), cusum_threshold(50, 4, 1.0, 3.0, lam=1.0)
    assert quiet < loud - 2.0
    assert cusum_threshold(50, 4, 1.0, 2.0, lam=0.1) < cusum_threshold(50, 4, 1.0, 8.0, lam=0.1)


def test_a_cusum_on_calm_poisson_counts_keeps_its_false_alarm_budget() -> None:
    """On counts that follow the expected rate, the mean run to a false alarm is about the budget, not less."""
    lam, k, weeks = 0.2, 2.0, 0.05  # 504 minutes between false alarms of this one CUSUM
    h = cusum_threshold(weeks, 1, 1.0, k, lam)
    rng = random.Random(5)
    runs = []
    for _ in range(150):
        s, t = 0.0, 0
        while s < h:
            t += 1
            x, p = 0, math.exp(-lam)  # Poisson draw by inversion
            u = rng.random()
            cdf = p
            while u > cdf:
                x += 1
                p *= lam / x
                cdf += p
            s = max(0.0, s + x * math.log(k) - (k - 1) * lam)
        runs.append(t)
    budget = weeks * 7 * 24 * 60
    assert 0.8 * budget <= sum(runs) / len(runs) <= 4 * budget
