"""User input never causes a 500: numbers too large for the database, a listening query that is nested,
huge or named twice, HubSpot failing a sync. Each answer is a 4xx (or a 502 for HubSpot) that says why,
and the OpenAPI document declares it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from hubbub.api.models import ApiToken
from hubbub.connectors.hubspot import HubSpotError
from hubbub.crm import sync
from hubbub.inbox.models import Conversation
from hubbub.listening.models import ListeningQuery

pytestmark = pytest.mark.django_db

HUGE = 2**64  # beyond any database integer


def _api(acme: dict[str, Any], role: str = "supervisor") -> Client:
    _, key = ApiToken.issue(acme["users"][role], acme["org"].pk, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/conversations/{HUGE}",
        f"/api/v1/conversations?brand={HUGE}",
        f"/api/v1/conversations?team={HUGE}",
        f"/api/v1/customers?offset={HUGE}",
        f"/api/v1/customers/{HUGE}",
        f"/api/v1/listening/alerts?brand={HUGE}",
        f"/api/v1/insights/surveys?brand={HUGE}",
        f"/api/v1/reports/volume?team={HUGE}",
        f"/api/v1/workflow/issues/{HUGE}",
    ],
)
def test_an_integer_too_large_for_the_database_is_a_422_naming_it(acme, path: str) -> None:
    answer = _api(acme).get(path)
    assert answer.status_code == 422
    assert "less than or equal to 9223372036854775807" in answer.json()["detail"][0]["msg"]


def test_an_id_too_large_in_a_body_is_a_422(acme) -> None:
    answer = _api(acme).post(
        "/api/v1/workflow/bulk-replies", {"conversation_ids": [HUGE], "text": "hi"}, content_type="application/json"
    )
    assert answer.status_code == 422


def test_web_pages_answer_404_for_an_id_no_row_can_have(acme, client) -> None:
    client.force_login(acme["users"]["supervisor"])
    assert client.get(f"/c/{HUGE}/").status_code == 404
    assert client.get(f"/issues/{HUGE}/").status_code == 404
    answer = client.post(
        "/issues/", {"brand_id": acme["brands"]["Acme Air"].pk, "title": "Outage", "conversation_ids": str(HUGE)}
    )
    # refused with the reason, as the API's IssueIn refuses it (an id was not silently left out any more)
    assert answer.status_code == 400 and b"less than or equal to 9223372036854775807" in answer.content


@pytest.mark.parametrize("depth", [50, 5000])
@pytest.mark.parametrize("nest", [lambda n: "(" * n + "delay" + ")" * n, lambda n: "NOT " * n + "delay"])
def test_a_listening_query_nested_too_deeply_is_refused_with_the_reason(acme, depth: int, nest: Any) -> None:
    brand = acme["brands"]["Acme Air"].pk
    answer = _api(acme).post(
        "/api/v1/listening/queries", {"brand_id": brand, "query": nest(depth)}, content_type="application/json"
    )
    assert answer.status_code == 400
    reason = "nested too deeply (at most 20" if depth == 50 else "too long (at most 2,000 characters)"
    assert reason in answer.json()["detail"]
    assert not ListeningQuery.objects.exists()


def test_a_listening_query_of_ten_thousand_terms_is_refused_and_not_saved(acme) -> None:
    brand = acme["brands"]["Acme Air"].pk
    api = _api(acme)
    many = " OR ".join(f"w{i}" for i in range(10_000))
    answer = api.post("/api/v1/listening/queries", {"brand_id": brand, "query": many}, content_type="application/json")
    assert answer.status_code == 400 and "too long" in answer.json()["detail"]
    terms = " ".join(f"w{i}" for i in range(150))  # short enough, but too many terms
    answer = api.post("/api/v1/listening/queries/validate", {"query": terms}, content_type="application/json")
    assert answer.json()["ok"] is False and "too many terms" in answer.json()["error"]
    assert not ListeningQuery.objects.exists()


def test_a_duplicate_listening_query_name_is_a_409_that_says_so(acme) -> None:
    api = _api(acme)
    body = {"brand_id": acme["brands"]["Acme Air"].pk, "name": "Delays", "query": "delay*"}
    assert api.post("/api/v1/listening/queries", body, content_type="application/json").status_code == 201
    again = api.post("/api/v1/listening/queries", body, content_type="application/json")
    assert again.status_code == 409
    assert "already has a query named “Delays”" in again.json()["detail"]
    assert ListeningQuery.objects.count() == 1


def test_the_query_editor_shows_a_duplicate_name_beside_the_form(acme, client) -> None:
    client.force_login(acme["users"]["analyst"])
    form = {"brand_id": acme["brands"]["Acme Air"].pk, "name": "Delays", "query": "delay*"}
    client.post("/listening/queries/new/", form)
    again = client.post("/listening/queries/new/", form)
    assert again.status_code == 400 and "already has a query named “Delays”" in again.content.decode()
    assert ListeningQuery.objects.count() == 1


def test_hubspot_failing_a_sync_is_a_502_without_hubspots_words(acme, monkeypatch) -> None:
    def refuse(*_a: Any, **_k: Any) -> dict[str, int]:
        raise HubSpotError(500, "internal secret stack trace")

    monkeypatch.setattr(sync, "sync_hubspot", refuse)
    answer = _api(acme).post("/api/v1/crm/hubspot/sync")
    assert answer.status_code == 502
    detail = answer.json()["detail"]
    assert "HubSpot refused the sync (HTTP 500)" in detail and "secret" not in detail


def test_the_openapi_document_declares_the_errors_every_operation_gives(acme) -> None:
    spec = Client().get("/api/openapi.json").json()
    missing = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            declared = set(op["responses"])
            wanted = {"400", "401", "403", "422"} | ({"404"} if "{" in path else set())
            if not wanted <= declared:
                missing.append((method, path, sorted(wanted - declared)))
    assert missing == []


def test_a_reply_on_an_id_too_large_is_refused_before_the_database(acme, make_event, ingest) -> None:
    ingest(acme["org"], [make_event("hello", author="ann")])
    answer = _api(acme, "agent").post(
        f"/api/v1/conversations/{HUGE}/replies", {"text": "hi"}, content_type="application/json"
    )
    assert answer.status_code == 422 and Conversation.objects.count() == 1


def test_loyalty_rules_beyond_the_column_are_refused_with_the_reason(acme, client) -> None:
    from hubbub.crm.models import TierRules

    client.force_login(acme["users"]["supervisor"])
    form = {
        "regular_min_orders": str(HUGE),
        "loyal_min_orders": "-3",
        "loyal_min_value": "1000",
        "auto_link_threshold": "0.8",
        "suggest_threshold": "0.5",
    }
    answer = client.post("/customers/rules/", form, follow=True)
    page = answer.content.decode()
    assert answer.status_code == 200 and "Check the numbers" in page and "loyal_min_orders" in page
    assert not TierRules.objects.filter(regular_min_orders=HUGE).exists()


@pytest.mark.django_db
def test_a_body_over_the_upload_limit_gets_a_json_reason_from_the_api_and_a_page_on_the_web(acme, settings):
    """Django refuses an over-size body before any view runs; the API client must still read why, as JSON."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    _, key = ApiToken.issue(acme["users"]["agent"], acme["org"].pk, "big")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = '{"text": "' + "x" * 4096 + '"}'
    r = api.post("/api/v1/conversations/1/replies", body, content_type="application/json")
    assert r.status_code == 413 and r["Content-Type"].startswith("application/json")
    assert "larger than this server accepts" in r.json()["detail"]
    web = Client()
    web.force_login(acme["users"]["agent"])
    page = web.post("/login/", {"username": "x", "password": "y" * 4096})
    assert page.status_code == 413 and "larger than this server accepts" in page.content.decode()
