"""Listening queries in the running system: saved per brand, matched on every ingested mention,
rolled up per query, previewed on history, isolated per organisation."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from hubbub.listening import services
from hubbub.listening.models import DimensionRollup, ListeningQuery, MentionRollup, QueryRollup
from hubbub.listening.query_language import QuerySyntaxError
from hubbub.tenancy.scoping import PermissionDenied

pytestmark = pytest.mark.django_db


def test_every_ingested_mention_is_matched_against_the_organisations_queries(acme, make_event, ingest, scope_of):
    scope = scope_of(acme["users"]["analyst"])
    air = acme["brands"]["Acme Air"]
    rail = acme["brands"]["Acme Rail"]
    delays = services.save_query(scope, brand_id=air.pk, name="Delays", query='delay* OR "late flight"')
    rail_q = services.save_query(scope, brand_id=rail.pk, name="Rail", query="train NOT #happy")
    ingest(
        acme["org"],
        [
            make_event("@AcmeAir delayed again, third time", author="a"),
            make_event("@AcmeAir a LATE   flight and no info", author="b", lang="en"),
            make_event("@AcmeAir lovely crew", author="c"),
            make_event("the train was fine #happy", brand="acme-rail", author="d"),
            make_event("the train is late, delays everywhere", brand="acme-rail", author="e"),
        ],
    )
    totals = dict(
        QueryRollup.objects.filter(grain="d")
        .values_list("query_id")
        .annotate(n=Sum("total"))
        .values_list("query_id", "n")
    )
    # a query matches mentions collected for any brand of the organisation
    assert totals == {delays.pk: 3, rail_q.pk: 1}
    # the three grains are kept alike
    for grain in "mhd":
        assert QueryRollup.objects.filter(query=delays, grain=grain).aggregate(n=Sum("total"))["n"] == 3
    assert MentionRollup.objects.filter(grain="d").aggregate(n=Sum("total"))["n"] == 5
    langs = dict(DimensionRollup.objects.filter(grain="d", dimension="lang").values_list("value", "total"))
    # b's language came from the network, a's was detected at ingest; "lovely crew" is too short to tell
    assert langs == {"en": 2}


def test_rollups_add_up_across_batches_and_ignore_the_brands_own_replies(acme, make_event, ingest, scope_of):
    scope = scope_of(acme["users"]["analyst"])
    q = services.save_query(scope, brand_id=acme["brands"]["Acme Air"].pk, name="bags", query="bag*")
    ingest(acme["org"], [make_event("lost bag", author="a")])
    ingest(
        acme["org"], [make_event("my bags?", author="b"), make_event("bag replies", author="AcmeAir", direction="out")]
    )
    assert QueryRollup.objects.filter(query=q, grain="h").aggregate(n=Sum("total"))["n"] == 2


def test_an_edited_query_is_recompiled_for_the_next_batch(acme, make_event, ingest, scope_of):
    scope = scope_of(acme["users"]["analyst"])
    q = services.save_query(scope, brand_id=acme["brands"]["Acme Air"].pk, name="x", query="refund")
    ingest(acme["org"], [make_event("refund please", author="a")])
    services.save_query(scope, brand_id=q.brand_id, name="x", query="voucher", instance=q)
    ingest(acme["org"], [make_event("refund please", author="b"), make_event("a voucher?", author="c")])
    assert QueryRollup.objects.filter(query=q, grain="d").aggregate(n=Sum("total"))["n"] == 2


def test_a_malformed_query_is_refused_with_the_position_of_the_problem(acme, scope_of):
    scope = scope_of(acme["users"]["analyst"])
    with pytest.raises(QuerySyntaxError) as err:
        services.save_query(scope, brand_id=acme["brands"]["Acme Air"].pk, name="bad", query="delay OR (late")
    assert err.value.position == 9
    assert not ListeningQuery.objects.exists()


def test_queries_cannot_be_saved_for_another_organisations_brand(acme, make_org, scope_of):
    other = make_org("globex", brands=("Globex",))
    scope = scope_of(acme["users"]["analyst"])
    with pytest.raises(PermissionDenied):
        services.save_query(scope, brand_id=other["brands"]["Globex"].pk, name="x", query="x")


def test_preview_shows_matches_on_stored_history(acme, make_event, ingest, scope_of):
    ingest(acme["org"], [make_event("flight delayed", author="a"), make_event("all good", author="b")])
    scope = scope_of(acme["users"]["analyst"])
    result = services.preview_query(scope, "delay*")
    assert result["matched"] == 1 and result["scanned"] == 2
    assert result["matches"][0]["text"] == "flight delayed"


def test_queries_of_one_organisation_never_match_anothers_mentions(acme, make_org, make_event, ingest, scope_of):
    other = make_org("globex", brands=("Globex",))
    q = services.save_query(
        scope_of(acme["users"]["analyst"]), brand_id=acme["brands"]["Acme Air"].pk, name="d", query="delayed"
    )
    ingest(other["org"], [make_event("delayed", brand="globex", author="z")])
    assert not QueryRollup.objects.filter(query=q).exists()
    preview = services.preview_query(scope_of(acme["users"]["analyst"]), "delayed")
    assert preview["scanned"] == 0
