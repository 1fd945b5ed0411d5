"""What a negative spike tells a supervisor (issue 17, item 4): the top terms and three sample posts
of the burst, expected vs observed, and how long it has been building."""

from __future__ import annotations

import math
import random

from hubbub.listening.detector_terms import burst_summary, terms_of
from hubbub.listening.detectors import CrisisDetector

T0 = 1_424_131_200.0  # Tue 2015-02-17 00:00 UTC
HOUR = 3600.0
USUAL = [
    "@AcmeAir my flight was delayed again",
    "@AcmeAir the app keeps crashing at check in",
    "@AcmeAir rude gate agent in Denver",
    "@AcmeAir seat was broken the whole flight",
    "@AcmeAir no wifi on a five hour flight",
]
BURST = [
    "@AcmeAir you lost my bag in Chicago and nobody answers",
    "@AcmeAir second day without my lost bag, baggage desk closed",
    "@AcmeAir lost bag again, baggage claim is chaos",
    "@AcmeAir where is my bag? baggage tracking says nothing",
]


def test_terms_leave_out_handles_links_and_stop_words() -> None:
    assert terms_of("@AcmeAir my BAG is lost https://t.co/x 2015 and it's gone") == {"bag", "lost", "gone"}


def test_the_summary_names_what_rose_in_the_burst_not_what_is_always_said() -> None:
    before = [(float(i), "@AcmeAir flight delayed " + t) for i, t in enumerate(USUAL * 4)]
    during = [(100.0 + i, t + " flight") for i, t in enumerate(BURST * 2)]
    terms, samples = burst_summary(before + during, since=100.0)
    assert set(terms[:3]) >= {"bag", "lost"}
    assert "flight" not in terms and "delayed" not in terms  # usual words, whatever their count
    assert len(samples) == 3 and all(s in {t + " flight" for t in BURST} for s in samples)


def test_a_spike_alert_carries_terms_samples_expected_observed_and_how_long_it_built() -> None:
    rng = random.Random(7)
    det = CrisisDetector()
    rows: list[tuple[float, str]] = []
    for h in range(30):  # a calm day and more: ~4 negatives an hour about this and that
        t = T0 + h * HOUR
        rows += [(t + rng.uniform(0, HOUR), rng.choice(USUAL)) for _ in range(4)]
    start = T0 + 30 * HOUR + 600
    rows += [(start + 40 * i, BURST[i % len(BURST)]) for i in range(30)]  # 30 in 20 minutes
    alerts = []
    for ts, text in sorted(rows):
        alerts += [a for a in det.observe(int(ts), "Acme", "negative", text=text) if a.kind == "negative_spike"]
    assert len(alerts) == 1
    a = alerts[0]
    assert {"bag", "lost"} <= set(a.terms[:3])
    assert len(a.examples) == 3 and all(e in BURST for e in a.examples)
    assert a.observed > 2 * a.expected
    building = math.ceil((a.detected_at - a.window_start) / 60)
    assert 1 <= building <= 25 and f"building for {building} min" in a.message
    assert a.window_start <= start + 60  # it counts from the burst, not from the last minute
    assert "about bag" in a.message or "about lost" in a.message
    out = a.as_dict()
    assert out["terms"] == a.terms and out["expected"] == round(a.expected, 3)
