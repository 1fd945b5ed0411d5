"""Where mentions come from: profile locations people really type, read into US states and countries,
counted during ingest and served to the war room's map, for the caller's organisation only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from hubbub.listening.places import describe, place_of

NOW = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "location,place",
    [
        # the most frequent locations of the airline tweets, as written
        ("Boston, MA", "US-MA"),
        ("New York City", "US-NY"),
        ("NYC", "US-NY"),
        ("Washington, DC", "US-DC"),
        ("Washington, D.C.", "US-DC"),
        ("San Francisco", "US-CA"),
        ("Chicago", "US-IL"),
        ("McKinney TX", "US-TX"),
        ("Dallas, Texas", "US-TX"),
        ("Colorado Springs, Colorado USA", "US-CO"),
        ("Brooklyn", "US-NY"),
        ("USA", "US"),
        ("United States", "US"),
        ("London", "GB"),
        ("Toronto, Ontario, Canada", "CA"),
        ("Ottawa, Canada", "CA"),
        # a two-letter code is read in the light of the city beside it
        ("Vancouver, WA", "US-WA"),
        ("Vancouver, CA", "CA"),
        ("Portland, OR", "US-OR"),
        ("Portland, Maine", "US-ME"),
        ("new orleans, la", "US-LA"),
        ("Baton Rouge LA", "US-LA"),
        ("Living in LA", "US-CA"),
        ("Paris, France", "FR"),
        ("Paris, TX", "US-TX"),
        ("Alphen aan den Rijn", "NL"),
        ("México", "MX"),
        # several places: the first one we can read
        ("NYC/London ", "US-NY"),
        ("Washington | Tampa | Baltimore", "US-WA"),
    ],
)
def test_real_profile_locations_are_placed(location, place):
    assert place_of(location) == place


@pytest.mark.parametrize(
    "location",
    [
        "Earth",
        "Global",
        "Everywhere",
        "Does it really matter",
        "in a galaxy far, far away ✨",
        "Somewhere over the rainbow.",
        "BTR/DCA/IAD/MSY - etc",
        "Viva la vida",
        "with us always",
        "Nice views",  # a town's name used as a word
        "",
        "x" * 500,
        "https://example.com/profile",
        "\x00\ufeff<script>alert(1)</script>",
    ],
)
def test_texts_that_name_no_place_are_left_off_the_map(location):
    assert place_of(location) is None


def test_map_ids_match_the_vendored_atlases():
    ma = describe("US-MA")
    assert ma["name"] == "Massachusetts" and ma["fips"] == "25" and ma["country"] == "US"
    gb = describe("GB")
    assert gb["name"] == "United Kingdom" and gb["iso_numeric"] == 826


@pytest.fixture
def located(acme, make_event, ingest):
    events = [
        make_event("@AcmeAir flight delayed again", author="a", author_location="Boston, MA"),
        make_event("@AcmeAir lost my bag", author="b", author_location="Cambridge, MA"),
        make_event("@AcmeAir great crew", author="c", author_location="Austin, TX"),
        make_event("@AcmeAir cheers", author="d", author_location="London, UK"),
        make_event("@AcmeAir hello", author="e", author_location="Earth"),
        make_event("@AcmeAir no location", author="f"),
    ]
    ingest(acme["org"], events)
    return acme


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_the_map_counts_placed_mentions_and_says_how_many_are_placed(located, client):
    client.force_login(located["users"]["analyst"])
    data = client.get("/api/v1/listening/charts/places?range=24h").json()
    assert data["mentions"] == 6 and data["located"] == 4
    assert {s["place"]: s["mentions"] for s in data["us_states"]} == {"US-MA": 2, "US-TX": 1}
    assert [(c["place"], c["mentions"]) for c in data["countries"]] == [("US", 3), ("GB", 1)]
    assert {s["fips"] for s in data["us_states"]} == {"25", "48"}


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_the_map_never_shows_another_organisations_mentions(located, make_org, make_event, ingest, client):
    other = make_org("globex", brands=("Globex Air",))
    ingest(other["org"], [make_event("@GlobexAir hi", brand="globex-air", author="z", author_location="Denver, CO")])
    client.force_login(located["users"]["analyst"])
    mine = client.get("/api/v1/listening/charts/places?range=24h").json()
    assert "US-CO" not in {s["place"] for s in mine["us_states"]}
    client.force_login(other["users"]["analyst"])
    theirs = client.get("/api/v1/listening/charts/places?range=24h").json()
    assert {s["place"] for s in theirs["us_states"]} == {"US-CO"}


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_the_war_room_has_a_map_panel(located, client):
    client.force_login(located["users"]["analyst"])
    body = client.get("/war-room/?range=24h").content.decode()
    assert 'id="c-map"' in body and "us-states-10m.json" in body and "chartjs-chart-geo" in body
