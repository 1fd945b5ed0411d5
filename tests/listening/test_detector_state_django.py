"""The running system's detectors: what they learn is stored per brand, and history never alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hubbub.listening import detection
from hubbub.listening.models import Alert, DetectorState

pytestmark = pytest.mark.django_db
START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
NEG = "@AcmeAir worst airline ever, terrible service, I hate this, never again"
POS = "@AcmeAir thank you so much, great crew and a lovely flight"


@pytest.fixture(autouse=True)
def _fresh_detectors():
    detection.reset_detectors()
    yield
    detection.reset_detectors()


def calm(make_event, start: datetime, hours: int) -> list:
    """12 mentions an hour, half of them negative."""
    return [
        make_event(NEG if i % 2 == 0 else POS, author=f"c{h}-{i}", created_at=start + timedelta(hours=h, minutes=5 * i))
        for h in range(hours)
        for i in range(12)
    ]


def burst(make_event, at: datetime, n: int = 40) -> list:
    return [make_event(NEG, author=f"s{at:%H%M}{i}", created_at=at + timedelta(seconds=15 * i)) for i in range(n)]


def test_the_learnt_baseline_is_stored_and_used_after_a_restart(acme, make_event, ingest, monkeypatch):
    ingest(acme["org"], calm(make_event, START, 10))
    detection.run_detection(now=START + timedelta(hours=10))
    assert DetectorState.objects.filter(brand=acme["brands"]["Acme Air"]).exists()

    detection.reset_detectors()  # a worker restart
    monkeypatch.setattr(detection, "_warm_start", lambda *a: pytest.fail("stored state was not used"))
    at = START + timedelta(hours=10, minutes=20)
    ingest(acme["org"], burst(make_event, at))
    result = detection.run_detection(now=at + timedelta(minutes=10))
    assert "negative_spike" in [a.kind for a in result.alerts]


def test_imported_history_does_not_alert_but_a_live_burst_does(acme, make_event, ingest):
    now = START + timedelta(hours=12)
    history = calm(make_event, START, 12) + burst(make_event, START + timedelta(hours=9))
    ingest(acme["org"], history)
    assert detection.run_detection(now=now).alerts == []
    assert not Alert.objects.exists()

    ingest(acme["org"], burst(make_event, now + timedelta(minutes=1)))
    result = detection.run_detection(now=now + timedelta(minutes=12))
    assert "negative_spike" in [a.kind for a in result.alerts]
