"""The demo's airline tweets read as their authors wrote them, to the brand they wrote to."""

from __future__ import annotations

from hubbub.connectors.csv_import import parse_airline
from hubbub.demo import AIRLINE_FILE, JETBLUE_SLUG, repair_airline_events


def test_the_data_sets_artefacts_and_the_delta_label_are_repaired() -> None:
    _stats, rows = parse_airline(AIRLINE_FILE)
    events = [r.event for r in rows if r.event is not None]
    before = [ev.text for ev in events]
    assert any("Late Flightr" in t for t in before) and any("Cancelled Flightled" in t for t in before)
    to_delta = [i for i, ev in enumerate(events) if ev.brand_slug == "delta"]
    assert to_delta and all("@jetblue" in events[i].text.lower() for i in to_delta[:50])

    repair_airline_events(events)

    texts = [ev.text for ev in events]
    assert not any("Late Flight" in t or "Cancelled Flight" in t for t in texts)
    # the authors' names had them too ("simuLate Flightthis" is @simulatethis, as repaired texts mention them)
    names = {v for ev in events for v in (ev.author_id, ev.author_handle, ev.author_name)}
    assert not any("Late Flight" in n or "Cancelled Flight" in n for n in names)
    assert "simulatethis" in names
    assert any("cancelled flight" in t for t in texts)  # what customers really wrote stays
    was_later = next(i for i, t in enumerate(before) if "Late Flightr" in t)
    assert "later" in texts[was_later]
    was_cancelled = next(i for i, t in enumerate(before) if "Cancelled Flightled" in t)
    assert "cancelled" in texts[was_cancelled]
    assert {events[i].brand_slug for i in to_delta} == {JETBLUE_SLUG}
