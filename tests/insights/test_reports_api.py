"""Reports API: the same figures as the pages, for the token's organisation and role only."""

from __future__ import annotations

import pytest
from django.test import Client

from hubbub.api.models import ApiToken
from tests.insights.test_reports import NOW, care_data  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
RANGE = "from=2026-02-24&to=2026-03-02"


def _client(user, org) -> Client:  # type: ignore[no-untyped-def]
    _, key = ApiToken.issue(user, org.pk, "reports")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def test_sla_and_agents_as_json(care_data, time_machine) -> None:  # noqa: F811
    time_machine.move_to(NOW)  # the two running resolution clocks are not yet due
    api = _client(care_data["users"]["analyst"], care_data["org"])
    res = api.get(f"/api/v1/reports/sla?{RANGE}")
    assert res.status_code == 200
    body = res.json()
    assert body["filters"] == {"from": "2026-02-24", "to": "2026-03-02", "brand": "", "team": ""}
    assert body["total"]["resolution"]["met"] == 3 and body["total"]["resolution"]["attainment_pct"] == 100.0
    rail = care_data["brands"]["Acme Rail"].pk
    only_rail = api.get(f"/api/v1/reports/sla?{RANGE}&brand={rail}").json()
    assert [b["brand"] for b in only_rail["brands"]] == ["Acme Rail"]
    agents = api.get(f"/api/v1/reports/agents?{RANGE}&team={care_data['team'].pk}").json()
    assert [(a["name"], a["conversations"]) for a in agents["agents"]] == [("acme-agent", 2)]
    for name in ("response-times", "volume", "csat"):
        assert api.get(f"/api/v1/reports/{name}?{RANGE}").status_code == 200


def test_an_agent_token_gets_only_its_own_agent_row(care_data) -> None:  # noqa: F811
    api = _client(care_data["users"]["agent"], care_data["org"])
    agents = api.get(f"/api/v1/reports/agents?{RANGE}").json()["agents"]
    assert [a["name"] for a in agents] == ["acme-agent"]


def test_other_organisations_and_bad_input(care_data, make_org) -> None:  # noqa: F811
    globex = make_org("globex", brands=("Globex",))
    api = _client(globex["users"]["admin"], globex["org"])
    air = care_data["brands"]["Acme Air"].pk
    body = api.get(f"/api/v1/reports/sla?{RANGE}&brand={air}").json()
    assert body["brands"] == [] and body["total"]["first_response"]["counted"] == 0
    res = api.get("/api/v1/reports/volume?from=2026-13-01")
    assert res.status_code == 400 and "YYYY-MM-DD" in res.json()["detail"]
    assert Client().get("/api/v1/reports/sla").status_code == 401
    spec = Client().get("/api/openapi.json").json()
    assert {"/api/v1/reports/sla", "/api/v1/reports/agents", "/api/v1/reports/csat"} <= set(spec["paths"])
    params = {p["name"] for p in spec["paths"]["/api/v1/reports/sla"]["get"]["parameters"]}
    assert {"from", "to", "brand", "team"} <= params
