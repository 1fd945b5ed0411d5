"""One rule, two front doors: the listening forms (query editor, alert rule, incident page) read the API's own
inputs (`listening.inputs`), so a bad value posted from a form and the same value sent to the API are refused
with the same message for the same field, and nothing is saved."""

from __future__ import annotations

import pytest
from tests.two_doors import api_client, api_field_error, flashed, post_json, web_client

from hubbub.listening import services
from hubbub.listening.models import AlertRule, Incident, ListeningQuery

pytestmark = pytest.mark.django_db


def test_a_query_without_a_brand(acme) -> None:  # type: ignore[no-untyped-def]
    analyst = acme["users"]["analyst"]
    api = post_json(
        api_client(analyst, acme["org"]), "/api/v1/listening/queries", {"brand_id": "Acme", "query": "delay"}
    )
    said = api_field_error(api, "brand_id")
    page = web_client(analyst).post("/listening/queries/new/", {"brand_id": "Acme", "query": "delay"})
    assert page.status_code == 400 and f"Brand: {said}." in page.content.decode()
    assert not ListeningQuery.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quiet_start", "25", "Quiet hours are hours of the day, 0 to 23."),
        ("sensitivity", "0", "Sensitivity must be above 0 (1 is the default)."),
        ("email_to", "care team", "'care' is not an email address."),
    ],
)
def test_an_alert_rule_value(acme, field: str, value: str, message: str) -> None:  # type: ignore[no-untyped-def]
    supervisor = acme["users"]["supervisor"]
    body = {"name": "Night watch", "quiet_start": 22, "quiet_end": 7, field: value}
    said = api_field_error(post_json(api_client(supervisor, acme["org"]), "/api/v1/listening/alert-rules", body), field)
    assert said == message
    form = {"name": "Night watch", "quiet_start": "22", "quiet_end": "7", "is_active": "on", field: value}
    answer = web_client(supervisor).post("/listening/rules/", form)
    assert flashed(answer) == [f"Rule not saved: {said}"]
    assert not AlertRule.objects.exists()


def test_an_empty_holding_statement_and_note(acme, scope_of) -> None:  # type: ignore[no-untyped-def]
    supervisor = acme["users"]["supervisor"]
    incident = services.open_incident(scope_of(supervisor), acme["brands"]["Acme Air"].pk, "Bags")
    for action, message in (("draft", "The holding statement is empty."), ("note", "The note is empty.")):
        answer = web_client(supervisor).post(f"/war-room/incidents/{incident.pk}/{action}/", {"text": "  "})
        assert flashed(answer) == [message]
    incident.refresh_from_db()
    assert incident.holding_statement == "" and not incident.timeline.filter(verb="note").exists()
    assert Incident.objects.count() == 1
