"""The running system's detectors: what they learn is stored per brand, and history never alerts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hubbub.cli import app
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
    """6 mentions an hour, half of them negative."""
    return [
        make_event(
            NEG if i % 2 == 0 else POS, author=f"c{h}-{i}", created_at=start + timedelta(hours=h, minutes=10 * i)
        )
        for h in range(hours)
        for i in range(6)
    ]


def burst(make_event, at: datetime, n: int = 40) -> list:
    return [make_event(NEG, author=f"s{at:%H%M}{i}", created_at=at + timedelta(seconds=15 * i)) for i in range(n)]


def test_the_learnt_baseline_is_stored_and_used_after_a_restart(acme, make_event, ingest, monkeypatch):
    ingest(acme["org"], calm(make_event, START, 26))
    detection.run_detection(now=START + timedelta(hours=26))
    assert DetectorState.objects.filter(brand=acme["brands"]["Acme Air"]).exists()

    detection.reset_detectors()  # a worker restart
    monkeypatch.setattr(detection, "_warm_start", lambda *a: pytest.fail("stored state was not used"))
    at = START + timedelta(hours=26, minutes=20)
    ingest(acme["org"], burst(make_event, at))
    result = detection.run_detection(now=at + timedelta(minutes=10))
    assert "negative_spike" in [a.kind for a in result.alerts]


def test_imported_history_does_not_alert_but_a_live_burst_does(acme, make_event, ingest):
    now = START + timedelta(hours=28)
    # the burst falls after the learning period: only its age keeps it quiet
    history = calm(make_event, START, 28) + burst(make_event, START + timedelta(hours=25))
    ingest(acme["org"], history)
    assert detection.run_detection(now=now).alerts == []
    assert not Alert.objects.exists()

    ingest(acme["org"], burst(make_event, now + timedelta(minutes=1)))
    result = detection.run_detection(now=now + timedelta(minutes=12))
    assert "negative_spike" in [a.kind for a in result.alerts]


def test_a_burst_in_the_learning_day_raises_nothing_and_the_pages_say_learning(acme, make_event, ingest, client):
    """Issue 17: no volume alert until a brand's stream spans 24 h; the war room and the listening page say
    so, with when it ends. The same burst after the day alerts."""
    client.force_login(acme["users"]["analyst"])
    at = START + timedelta(hours=20, minutes=20)
    ingest(acme["org"], calm(make_event, START, 20) + burst(make_event, at))
    assert detection.run_detection(now=at + timedelta(minutes=10)).alerts == []  # live, but still learning
    assert not Alert.objects.exists()
    label = "<strong>Acme Air</strong>: learning the usual volume until 3 Nov 00:00 UTC"
    war_room = client.get("/war-room/").content.decode()
    assert (
        label in war_room and "<strong>Acme Rail</strong>" not in war_room
    )  # no mentions: nothing learnt, nothing to say
    listening = client.get("/listening/").content.decode()
    assert label.replace("</strong>: ", '</strong>: <span class="badge learning">learning</span> ') in listening
    assert "badge watching" not in listening

    later = START + timedelta(hours=26, minutes=20)
    ingest(acme["org"], calm(make_event, START + timedelta(hours=21), 5) + burst(make_event, later))
    result = detection.run_detection(now=later + timedelta(minutes=10))
    assert "negative_spike" in [a.kind for a in result.alerts]
    assert "learning the usual volume" not in client.get("/war-room/").content.decode()
    listening = client.get("/listening/").content.decode()
    assert '<strong>Acme Air</strong>: <span class="badge watching">watching</span>' in listening
    assert 'Acme Air</strong>: <span class="badge learning' not in listening


def test_hubbub_import_of_a_history_with_a_burst_teaches_the_baseline_and_raises_nothing(
    acme, make_event, ingest, tmp_path: Path
):
    """A replay of old mentions (`hubbub import`) past the learning day still alerts on nothing: only mentions
    of the last minutes are live. What it taught shows when a live burst comes."""
    rows = []
    for h in range(28):
        for i in range(6):
            t = START + timedelta(hours=h, minutes=10 * i)
            rows.append((t, NEG if i % 2 == 0 else POS, f"c{h}-{i}"))
    rows += [(START + timedelta(hours=25, seconds=15 * i), NEG, f"s{i}") for i in range(40)]
    path = tmp_path / "history.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": f"h{n}", "text": text, "created_at": t.isoformat(), "brand": "Acme Air", "author_id": a})
            + "\n"
            for n, (t, text, a) in enumerate(rows)
        ),
        encoding="utf-8",
    )
    res = CliRunner().invoke(app, ["import", "jsonl", str(path), "--org", "acme"])
    assert res.exit_code == 0, res.output
    now = START + timedelta(hours=28)
    assert detection.run_detection(now=now).messages == len(rows)
    assert not Alert.objects.exists()
    state = DetectorState.objects.get(brand=acme["brands"]["Acme Air"]).state[""]
    assert state["warm"]  # the history taught the baseline: the learning day is over

    ingest(acme["org"], burst(make_event, now + timedelta(minutes=1)))
    result = detection.run_detection(now=now + timedelta(minutes=12))
    assert "negative_spike" in [a.kind for a in result.alerts]
