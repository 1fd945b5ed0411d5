"""Streaming crisis detectors, fed synthetic streams whose truth we know."""

from __future__ import annotations

import random

from hubbub.listening.detectors import Alert, CrisisDetector, DetectorConfig, normalise_sentiment

T0 = 1_424_131_200.0  # Tue 2015-02-17 00:00 UTC


def flat_stream(hours: float, neg_per_hour: float, other_per_hour: float, seed: int) -> list[tuple[float, str]]:
    """A Poisson stream with a constant rate: no incident in it."""
    rng = random.Random(seed)
    rows: list[tuple[float, str]] = []
    for rate, sent in ((neg_per_hour, "negative"), (other_per_hour, "neutral")):
        t = T0
        while True:
            t += rng.expovariate(rate / 3600)
            if t >= T0 + hours * 3600:
                break
            rows.append((t, sent))
    rows.sort()
    return rows


def replay(det: CrisisDetector, rows: list[tuple[float, str]], brand: str = "Acme") -> list[Alert]:
    out: list[Alert] = []
    for ts, sent in rows:
        out.extend(det.observe(ts, brand, sent, text=f"{sent} mention"))
    return out


def test_flat_stream_raises_nothing() -> None:
    rows = flat_stream(hours=72, neg_per_hour=20, other_per_hour=20, seed=1)
    alerts = replay(CrisisDetector(), rows)
    assert [a for a in alerts if a.kind in ("negative_spike", "sentiment_drop")] == []


def test_five_times_burst_raises_a_negative_spike_within_ten_minutes() -> None:
    # at 60 negatives/hour a 5x burst is unmistakable within minutes; at lower volumes the
    # minimum-volume guard and the 1e-6 false-alarm budget slow detection (docs/listening.md)
    rows = flat_stream(hours=48, neg_per_hour=60, other_per_hour=20, seed=2)
    start = T0 + 40 * 3600 + 17 * 60
    rng = random.Random(3)
    burst = [(start + rng.uniform(0, 45 * 60), "negative") for _ in range(4 * 60 * 45 // 60)]  # +4x, 45 min
    alerts = replay(CrisisDetector(), sorted(rows + burst))
    spikes = [a for a in alerts if a.kind == "negative_spike"]
    assert spikes, "a 5x burst must be detected"
    first = spikes[0]
    assert start <= first.detected_at <= start + 10 * 60
    assert first.brand == "Acme"
    assert first.observed > 2 * first.expected
    assert "the usual for" in first.message and "expected" in first.message
    assert 1 <= len(first.examples) <= 3
    # de-duplicated: one open alert for the whole burst
    assert len(spikes) == 1


def test_a_new_brand_does_not_alert_during_warm_up() -> None:
    # a brand that appears with a high volume is learnt, not alarmed about
    rows = flat_stream(hours=4, neg_per_hour=60, other_per_hour=10, seed=4)
    assert replay(CrisisDetector(), rows) == []


def five_times_burst(start: float, minutes: int = 45, seed: int = 3) -> list[tuple[float, str]]:
    """4x the 60-an-hour stream's negatives on top of it: a 5x burst."""
    rng = random.Random(seed)
    return [(start + rng.uniform(0, minutes * 60), "negative") for _ in range(4 * minutes)]


def test_no_volume_alert_in_the_learning_day_even_with_a_burst_and_one_after_it() -> None:
    """Issue 17: a stream learns for 24 h of its own history (mention times, not the wall clock)."""
    rows = flat_stream(hours=48, neg_per_hour=60, other_per_hour=20, seed=6)
    volume = ("negative_spike", "sentiment_drop")
    early = replay(CrisisDetector(), sorted(rows + five_times_burst(T0 + 20 * 3600)))
    assert [a for a in early if a.kind in volume] == []
    late = replay(CrisisDetector(), sorted(rows + five_times_burst(T0 + 30 * 3600)))
    spikes = [a for a in late if a.kind == "negative_spike"]
    assert spikes and T0 + 30 * 3600 <= spikes[0].detected_at <= T0 + 30 * 3600 + 10 * 60
    # the period is a knob: six hours of learning let the early burst through
    early6 = replay(CrisisDetector(DetectorConfig(warmup_hours=6)), sorted(rows + five_times_burst(T0 + 20 * 3600)))
    assert "negative_spike" in [a.kind for a in early6]


def test_sparse_brand_is_protected_by_the_minimum_volume_guard() -> None:
    rows = flat_stream(hours=96, neg_per_hour=0.5, other_per_hour=2, seed=5)
    # three angry tweets in a row are not a crisis
    extra = [(T0 + 80 * 3600 + i * 30, "negative") for i in range(3)]
    alerts = replay(CrisisDetector(), sorted(rows + extra))
    assert [a for a in alerts if a.kind == "negative_spike"] == []


def test_rate_limit_caps_alerts_per_brand_per_hour() -> None:
    cfg = DetectorConfig(max_alerts_per_hour=2, viral_min_retweets=10)
    det = CrisisDetector(cfg)
    alerts = []
    for i in range(10):
        alerts += det.observe(T0 + i * 60, "Acme", "negative", retweets=500, text=f"viral post {i}")
    assert len([a for a in alerts if a.kind == "viral_post"]) == 2
    assert det.suppressed == 8


def test_viral_negative_post_alerts_once() -> None:
    det = CrisisDetector()
    a1 = det.observe(T0, "Acme", "negative", retweets=900, followers=10, text="your airline lost my dog")
    a2 = det.observe(T0 + 60, "Acme", "negative", retweets=950, followers=10, text="your airline lost my dog")
    a3 = det.observe(T0 + 60, "Acme", "positive", retweets=5000, followers=10, text="love it")
    assert [a.kind for a in a1] == ["viral_post"] and a2 == [] and a3 == []


def test_hashtag_hijack_on_the_brands_own_hashtag() -> None:
    det = CrisisDetector(DetectorConfig(hashtags={"Acme": ["#AcmeStories"]}))
    alerts: list[Alert] = []
    for i in range(10):
        alerts += det.observe(T0 + i * 60, "Acme", "positive", text="#AcmeStories great trip")
    assert alerts == []
    for i in range(20):
        alerts += det.observe(T0 + 3600 + i * 30, "Acme", "negative", text="#acmestories they lost my bag")
    hijacks = [a for a in alerts if a.kind == "hashtag_hijack"]
    assert len(hijacks) == 1 and "#acmestories" in hijacks[0].message


def test_quiet_hours_defer_alerts_to_the_end_of_the_quiet_period() -> None:
    cfg = DetectorConfig(quiet_hours=(22, 7), quiet_mode="defer", viral_min_retweets=10)
    det = CrisisDetector(cfg)
    night = T0 + 23 * 3600  # 23:00 UTC
    assert det.observe(night, "Acme", "negative", retweets=100, text="viral at night") == []
    morning = T0 + 31 * 3600  # 07:00 next day
    released = det.observe(morning, "Acme", "neutral")
    assert [a.kind for a in released] == ["viral_post"]
    assert released[0].deferred_from == night and released[0].detected_at == T0 + 31 * 3600


def test_quiet_hours_can_suppress() -> None:
    cfg = DetectorConfig(quiet_hours=(22, 7), quiet_mode="suppress", viral_min_retweets=10)
    det = CrisisDetector(cfg)
    assert det.observe(T0 + 23 * 3600, "Acme", "negative", retweets=100, text="x") == []
    assert det.flush() == [] and det.suppressed == 1


def test_alert_dict_has_iso_utc_times() -> None:
    det = CrisisDetector(DetectorConfig(viral_min_retweets=10))
    (alert,) = det.observe(T0, "Acme", "negative", retweets=100, text="x")
    d = alert.as_dict()
    assert d["detected_at"] == "2015-02-17T00:00:00Z"
    assert {
        "detected_at",
        "kind",
        "brand",
        "window_start",
        "expected",
        "observed",
        "score",
        "message",
    } <= set(d)


def test_sentiment_scores_and_labels_are_normalised() -> None:
    assert normalise_sentiment("NEGATIVE") == "negative"
    assert normalise_sentiment(-0.6) == "negative"
    assert normalise_sentiment("0.7") == "positive"
    assert normalise_sentiment(0.0) == "neutral"
    assert normalise_sentiment("angry?") == "neutral"
