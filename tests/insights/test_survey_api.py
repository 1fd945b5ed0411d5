"""The survey API: a survey tool pushes responses; each is validated like a file row, bad ones rejected with
their reason and kept in quarantine, re-sent ones updated, and nothing crosses organisations."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db

URL = "/api/v1/insights/surveys"


def _post(client, body):  # type: ignore[no-untyped-def]
    return client.post(URL, data=json.dumps(body), content_type="application/json")


def test_responses_are_stored_analysed_and_linked_to_customers(acme, client):
    from hubbub.crm.models import Customer
    from hubbub.insights.models import SurveyResponse

    Customer.objects.create(organization=acme["org"], name="Ann", email="ann@example.com")
    client.force_login(acme["users"]["analyst"])
    air = acme["brands"]["Acme Air"]
    r = _post(
        client,
        {
            "scale": "csat",
            "brand_id": air.pk,
            "responses": [
                {"external_id": "r1", "score": 5, "submitted_at": "2026-11-30T10:00:00Z", "comment": "Lovely crew"},
                {
                    "external_id": "r2",
                    "score": "1",
                    "submitted_at": "2026-11-30 11:00",
                    "email": "ANN@example.com",
                    "comment": "My bag is lost and nobody answers",
                },
            ],
        },
    )
    assert r.status_code == 200, r.content
    out = r.json()
    assert (out["imported"], out["rejected"], out["linked"]) == (2, 0, 1)
    r2 = SurveyResponse.objects.get(external_id="r2")
    assert r2.brand_id == air.pk and r2.customer is not None and r2.customer.name == "Ann"
    assert r2.sentiment == "negative" and str(r2.scale) == "csat"


def test_bad_responses_are_rejected_one_by_one_and_quarantined(acme, client):
    from hubbub.ingest.models import QuarantinedEvent
    from hubbub.insights.models import SurveyResponse

    client.force_login(acme["users"]["analyst"])
    r = _post(
        client,
        {
            "scale": "csat",
            "responses": [
                {"external_id": "ok", "score": 4, "submitted_at": "2026-11-30"},
                {"external_id": "high", "score": 9, "submitted_at": "2026-11-30"},
                {"external_id": "nodate", "score": 3},
                {"external_id": "brand", "score": 3, "submitted_at": "2026-11-30", "brand": "Nope Air"},
                "not an object",
                {},
            ],
        },
    )
    assert r.status_code == 200
    out = r.json()
    assert out["imported"] == 1 and out["rejected"] == 5
    reasons = {e["row"]: e["reason"] for e in out["errors"]}
    assert "out of range" in reasons[2] and "date" in reasons[3] and "unknown brand" in reasons[4]
    assert 5 in reasons and 6 in reasons
    assert SurveyResponse.objects.count() == 1
    assert QuarantinedEvent.objects.filter(organization=acme["org"], source="import:surveys").count() == 5


def test_resending_a_response_updates_it_instead_of_counting_it_twice(acme, client):
    from hubbub.insights.models import SurveyResponse

    client.force_login(acme["users"]["analyst"])
    body = {"scale": "nps", "responses": [{"external_id": "n1", "score": 6, "submitted_at": "2026-11-30"}]}
    assert _post(client, body).json()["imported"] == 1
    body["responses"][0]["score"] = 9
    again = _post(client, body).json()
    assert (again["imported"], again["updated"]) == (0, 1)
    assert SurveyResponse.objects.get(external_id="n1").score == 9


def test_bad_requests_get_clear_errors(acme, client):
    client.force_login(acme["users"]["analyst"])
    assert _post(client, {"scale": "stars", "responses": []}).status_code == 400
    too_many = {"scale": "csat", "responses": [{"score": 5, "submitted_at": "2026-11-30"}] * 1001}
    r = _post(client, too_many)
    assert r.status_code == 400 and "limit" in r.json()["detail"]
    assert client.post(URL, data="{not json", content_type="application/json").status_code in (400, 422)
    assert _post(client, {"responses": []}).status_code in (400, 422)  # no scale


def test_surveys_never_cross_organisations(acme, make_org, client):
    other = make_org("globex", brands=("Globex Air",))
    client.force_login(other["users"]["analyst"])
    _post(client, {"scale": "csat", "responses": [{"external_id": "g1", "score": 2, "submitted_at": "2026-11-30"}]})
    # another organisation's brand id is unknown here
    r = _post(client, {"scale": "csat", "brand_id": acme["brands"]["Acme Air"].pk, "responses": []})
    assert r.status_code == 400
    client.force_login(acme["users"]["analyst"])
    _post(client, {"scale": "csat", "responses": [{"external_id": "a1", "score": 5, "submitted_at": "2026-11-29"}]})
    listed = client.get(URL).json()
    assert [s["external_id"] for s in listed] == ["a1"]
    assert client.get(URL + "?since=2026-11-30T00:00:00Z").json() == []
