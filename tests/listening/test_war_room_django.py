"""The war room and its chart API: drawn from rollups, for any range, only the caller's organisation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from hubbub.listening import charts, services

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)  # make_event's clock starts at 09:00 that day


@pytest.fixture
def stream(acme, make_event, ingest):
    """A small morning of mentions for both brands, with languages and one widely shared post."""
    air = acme["brands"]["Acme Air"]
    rail = acme["brands"]["Acme Rail"]
    air.competitors.add(rail)
    events = [
        make_event("@AcmeAir my flight is delayed, terrible", author="a", lang="en", retweets=120),
        make_event("@AcmeAir lost luggage again, awful service", author="b", lang="en", author_followers=50_000),
        make_event("@AcmeAir vuelo retrasado", author="c", lang="es"),
        make_event("@AcmeAir thanks, great crew", author="d", lang="en"),
        make_event("the train was on time", brand="acme-rail", author="e"),
    ]
    ingest(acme["org"], events)
    return acme


def _get(client, user, url):
    client.force_login(user)
    return client.get(url)


@time_machine.travel(NOW, tick=False)
def test_volume_and_sentiment_charts_come_from_rollups(stream, client):
    analyst = stream["users"]["analyst"]
    r = _get(client, analyst, "/api/v1/listening/charts/volume?range=6h")
    assert r.status_code == 200
    data = r.json()
    assert data["window"]["grain"] == "m" and len(data["labels"]) == 360
    by_brand = {s["brand"]: sum(s["data"]) for s in data["series"]}
    assert by_brand == {"Acme Air": 4, "Acme Rail": 1}
    sentiment = client.get("/api/v1/listening/charts/sentiment?range=24h").json()
    assert sentiment["window"]["grain"] == "h"
    assert sentiment["totals"]["total"] == 5
    assert sentiment["totals"]["negative"] >= 2


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("range_name,grain", [("1h", "m"), ("24h", "h"), ("7d", "h"), ("30d", "d"), ("1y", "d")])
def test_every_range_picks_a_grain_that_keeps_charts_small(stream, client, range_name, grain):
    r = _get(client, stream["users"]["analyst"], f"/api/v1/listening/charts/volume?range={range_name}")
    assert r.json()["window"]["grain"] == grain
    assert len(r.json()["labels"]) <= 366


@time_machine.travel(NOW, tick=False)
def test_share_of_voice_compares_the_brand_with_its_competitors(stream, client):
    air = stream["brands"]["Acme Air"]
    data = _get(client, stream["users"]["analyst"], f"/api/v1/listening/charts/share-of-voice?brand={air.pk}").json()
    assert [(b["brand"], b["mentions"], b["own"]) for b in data["brands"]] == [
        ("Acme Air", 4, True),
        ("Acme Rail", 1, False),
    ]
    assert data["brands"][0]["share"] == pytest.approx(0.8)


@time_machine.travel(NOW, tick=False)
def test_mention_panels_languages_top_posts_and_authors(stream, client):
    client.force_login(stream["users"]["analyst"])
    langs = client.get("/api/v1/listening/charts/languages?range=24h").json()
    # three English posts came tagged by the network; the rail post's English was detected at ingest
    assert {i["value"]: i["mentions"] for i in langs["items"]} == {"en": 4, "es": 1}
    posts = client.get("/api/v1/listening/charts/top-posts?range=24h").json()
    assert posts["items"][0]["shares"] == 120
    authors = client.get("/api/v1/listening/charts/top-authors?range=24h").json()
    assert authors["items"][0]["handle"] == "b" and authors["items"][0]["followers"] == 50_000
    for name in ("summary", "queries", "emerging-terms"):
        assert client.get(f"/api/v1/listening/charts/{name}?range=1h").status_code == 200
    assert client.get("/api/v1/listening/charts/nope").status_code == 404


def test_emerging_terms_burst_against_the_rest_of_the_window(acme, make_event, ingest, scope_of):
    base = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    events = [
        make_event(f"@AcmeAir question about seats {i}", author=f"u{i}", created_at=base + timedelta(minutes=20 * i))
        for i in range(60)
    ]
    late = base + timedelta(hours=23, minutes=30)
    events += [
        make_event(f"@AcmeAir outage at the app, cannot check in #outage {i}", author=f"v{i}", created_at=late)
        for i in range(6)
    ]
    ingest(acme["org"], events)
    scope = scope_of(acme["users"]["analyst"])
    w = charts.resolve_window(scope, "24h", end=base + timedelta(hours=23, minutes=59))
    terms = [t["term"] for t in charts.emerging_terms(scope, w)["items"]]
    assert "outage" in terms and "#outage" in terms
    assert "seats" not in terms


def test_an_empty_range_shows_the_latest_data_and_says_so(stream, scope_of):
    scope = scope_of(stream["users"]["analyst"])
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        w = charts.resolve_window(scope, "1h")
        assert w.anchored_to_latest
        assert charts.volume(scope, w)["total"] >= 1
        assert not charts.resolve_window(scope, "1h", end="now").anchored_to_latest


def test_charts_never_show_another_organisations_mentions(stream, make_org, client):
    other = make_org("globex", brands=("Globex",))
    client.force_login(other["users"]["analyst"])
    data = client.get("/api/v1/listening/charts/volume?range=1y").json()
    assert data["total"] == 0
    air = stream["brands"]["Acme Air"]
    assert client.get(f"/api/v1/listening/charts/volume?brand={air.pk}").status_code == 404


@time_machine.travel(NOW, tick=False)
def test_war_room_page_shows_big_numbers_and_chart_mounts(stream, client):
    r = _get(client, stream["users"]["analyst"], "/war-room/?range=24h")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="n-mentions">5<' in html
    for canvas in ("c-volume", "c-sentiment", "c-sov", "c-languages"):
        assert f'id="{canvas}"' in html
    assert "War room" in html and "data-warroom-live" in html


def test_war_room_empty_state(acme, client):
    r = _get(client, acme["users"]["analyst"], "/war-room/")
    assert r.status_code == 200
    assert "No mentions yet" in r.content.decode()


@time_machine.travel(NOW, tick=False)
def test_query_series_chart_shows_matches_per_query(stream, make_event, ingest, scope_of, client):
    scope = scope_of(stream["users"]["analyst"])
    q = services.save_query(scope, brand_id=stream["brands"]["Acme Air"].pk, name="Delays", query="delay*")
    ingest(stream["org"], [make_event("another delay", author="z")])
    data = _get(client, stream["users"]["analyst"], "/api/v1/listening/charts/queries?range=24h").json()
    assert [(s["query_id"], s["total"]) for s in data["series"]] == [(q.pk, 1)]


@time_machine.travel(NOW, tick=False)
def test_a_brand_has_the_same_colour_in_every_chart(stream, client):
    air = stream["brands"]["Acme Air"]
    client.force_login(stream["users"]["analyst"])
    volume = client.get("/api/v1/listening/charts/volume?range=24h").json()
    sov = client.get(f"/api/v1/listening/charts/share-of-voice?range=24h&brand={air.pk}").json()
    in_volume = {s["brand_id"]: s["colour"] for s in volume["series"]}
    in_sov = {b["brand_id"]: b["colour"] for b in sov["brands"]}
    assert in_volume == in_sov and len(set(in_sov.values())) == 2
    rail = stream["brands"]["Acme Rail"]
    only_rail = client.get(f"/api/v1/listening/charts/volume?range=24h&brand={rail.pk}").json()
    for s in only_rail["series"]:  # a filter hiding a brand repaints none of the others
        assert s["colour"] == in_volume[s["brand_id"]]


def test_authors_without_a_known_reach_are_ranked_by_mentions_and_the_panel_says_so(acme, make_event, ingest, scope_of):
    at = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    events = [make_event(f"@AcmeAir hello {i}", author="chatty", created_at=at) for i in range(3)]
    events += [make_event("@AcmeAir once", author="quiet", created_at=at)]
    ingest(acme["org"], events)
    scope = scope_of(acme["users"]["analyst"])
    w = charts.resolve_window(scope, "24h", end=at + timedelta(hours=1))
    authors = charts.top_authors(scope, w)
    assert authors["ranked_by"] == "mentions"
    assert [a["handle"] for a in authors["items"]][:2] == ["chatty", "quiet"]


@time_machine.travel(NOW, tick=False)
def test_authors_with_a_known_reach_leave_out_those_without(stream, scope_of):
    scope = scope_of(stream["users"]["analyst"])
    authors = charts.top_authors(scope, charts.resolve_window(scope, "24h"))
    assert authors["ranked_by"] == "reach" and [a["handle"] for a in authors["items"]] == ["b"]


def test_common_words_in_any_language_never_emerge(acme, make_event, ingest, scope_of):
    base = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    late = base + timedelta(hours=23, minutes=30)
    texts = [
        "@AcmeAir during boarding they could always lose bags, outage",
        "@AcmeAir el vuelo para nosotros pero muy mal, outage",
        "@AcmeAir nous avons été avec les bagages, outage",
    ]
    events = [make_event(f"{texts[i % 3]} {i}", author=f"v{i}", created_at=late) for i in range(9)]
    events += [
        make_event(f"@AcmeAir seats {i}", author=f"u{i}", created_at=base + timedelta(hours=i)) for i in range(20)
    ]
    ingest(acme["org"], events)
    scope = scope_of(acme["users"]["analyst"])
    w = charts.resolve_window(scope, "24h", end=base + timedelta(hours=23, minutes=59))
    terms = {t["term"] for t in charts.emerging_terms(scope, w)["items"]}
    assert "outage" in terms
    assert not terms & {"during", "could", "always", "para", "pero", "muy", "nous", "avec", "les"}
