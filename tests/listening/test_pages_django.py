"""Listening pages: the query editor (syntax errors at the right character, preview on history),
incidents (war room mode) and the temperature check, through the views and the API."""

from __future__ import annotations

import pytest

from hubbub.listening import services
from hubbub.listening.models import Alert, Incident, ListeningQuery
from hubbub.tenancy.models import AuditEvent
from hubbub.tenancy.scoping import PermissionDenied

pytestmark = pytest.mark.django_db


def test_the_editor_underlines_the_character_where_the_query_breaks(acme, client):
    client.force_login(acme["users"]["analyst"])
    r = client.post("/listening/queries/check/", {"query": "delay OR"}, HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert "expected a term after OR" in html
    assert 'class="q-at"' in html and "(character 9)" in html
    ok = client.post("/listening/queries/check/", {"query": "delay* lang:en"}).content.decode()
    assert "Understood as" in ok and "delay* AND lang:en" in ok


def test_user_text_in_the_editor_is_escaped(acme, client):
    client.force_login(acme["users"]["analyst"])
    html = client.post("/listening/queries/check/", {"query": "<script>x</script> OR"}).content.decode()
    assert "<script>x" not in html and "&lt;script&gt;" in html


def test_saving_a_query_from_the_editor(acme, client):
    client.force_login(acme["users"]["analyst"])
    air = acme["brands"]["Acme Air"]
    bad = client.post("/listening/queries/new/", {"brand_id": air.pk, "name": "x", "query": '"late flight'})
    assert bad.status_code == 400 and "unclosed quote" in bad.content.decode()
    r = client.post(
        "/listening/queries/new/", {"brand_id": air.pk, "name": "Delays", "query": "delay*", "is_active": "on"}
    )
    assert r.status_code == 302
    q = ListeningQuery.objects.get()
    assert (q.name, q.query, q.brand_id) == ("Delays", "delay*", air.pk)
    assert AuditEvent.objects.filter(verb="listening.query.save").exists()
    page = client.get("/listening/").content.decode()
    assert "Delays" in page


def test_preview_lists_matching_stored_mentions(acme, make_event, ingest, client):
    ingest(acme["org"], [make_event("@AcmeAir flight delayed 3 hours", author="a"), make_event("nice", author="b")])
    client.force_login(acme["users"]["analyst"])
    html = client.post("/listening/queries/preview/", {"query": "delay*"}).content.decode()
    assert "1 of the latest 2 stored mentions match" in html
    assert "flight delayed 3 hours" in html


def test_another_organisations_query_is_not_found(acme, make_org, client, scope_of):
    other = make_org("globex", brands=("Globex",))
    q = services.save_query(
        scope_of(other["users"]["analyst"]), brand_id=other["brands"]["Globex"].pk, name="g", query="g"
    )
    client.force_login(acme["users"]["admin"])
    assert client.get(f"/listening/queries/{q.pk}/").status_code == 404
    assert client.post(f"/listening/queries/{q.pk}/delete/").status_code == 404
    assert client.get("/api/v1/listening/queries").json() == []


def test_api_validate_reports_the_position(acme, client):
    client.force_login(acme["users"]["analyst"])
    r = client.post("/api/v1/listening/queries/validate", {"query": "(a OR b"}, content_type="application/json")
    assert r.json() == {"ok": False, "error": "unclosed parenthesis", "position": 0}


# ------------------------------------------------------------------ incidents


def _alert(acme, brand="Acme Air"):
    from django.utils import timezone

    now = timezone.now()
    return Alert.objects.create(
        organization=acme["org"],
        brand=acme["brands"][brand],
        kind="negative_spike",
        detected_at=now,
        window_start=now,
        expected=2.0,
        observed=30.0,
        message="Negative mentions 15× the usual",
        examples=["worst airline"],
    )


def test_an_incident_puts_the_brand_in_war_room_mode_until_closed(acme, make_event, ingest, scope_of):
    air = acme["brands"]["Acme Air"]
    sup = scope_of(acme["users"]["supervisor"])
    assert services.active_incident(air.pk) is None
    incident = services.open_incident(sup, air.pk, "Outage", _alert(acme))
    assert services.active_incident(air.pk) == incident
    assert services.active_incident(acme["brands"]["Acme Rail"].pk) is None
    # a second open on the same brand returns the running incident
    assert services.open_incident(sup, air.pk, "again") == incident

    agent = scope_of(acme["users"]["agent"])
    services.draft_statement(agent, incident, "We know about the outage and are on it.")
    with pytest.raises(PermissionDenied):
        services.approve_statement(agent, incident)
    with pytest.raises(ValueError):
        services.send_statement(sup, incident)  # not approved yet
    services.approve_statement(sup, incident)
    services.send_statement(sup, incident)

    ingest(acme["org"], [make_event("@AcmeAir app down", author="x")])
    from hubbub.inbox.models import Conversation

    conv = Conversation.objects.get()
    assert services.link_conversations(agent, incident, [conv.pk]) == 1
    assert services.link_conversations(agent, incident, [conv.pk]) == 0
    services.add_incident_note(agent, incident, "Engineering says 30 minutes.")

    services.close_incident(sup, incident, "Fixed by 11:00")
    assert services.active_incident(air.pk) is None
    incident.refresh_from_db()
    assert incident.report["conversations"] == 1
    assert incident.report["summary"] == "Fixed by 11:00"
    assert incident.report["statement_sent_after_min"] is not None
    assert "duration_minutes" in incident.report and "negative_share_during" in incident.report
    verbs = list(incident.timeline.values_list("verb", flat=True))
    assert verbs == [
        "opened",
        "statement.drafted",
        "statement.approved",
        "statement.sent",
        "conversations.linked",
        "note",
        "closed",
    ]
    assert incident.timeline.filter(verb="statement.approved", actor=acme["users"]["supervisor"]).exists()


def test_only_supervisors_open_and_close_incidents(acme, scope_of):
    with pytest.raises(PermissionDenied):
        services.open_incident(scope_of(acme["users"]["analyst"]), acme["brands"]["Acme Air"].pk, "x")


def test_conversations_of_another_brand_are_not_linked(acme, make_event, ingest, scope_of):
    ingest(acme["org"], [make_event("train late", brand="acme-rail", author="r")])
    from hubbub.inbox.models import Conversation

    sup = scope_of(acme["users"]["supervisor"])
    incident = services.open_incident(sup, acme["brands"]["Acme Air"].pk, "x")
    assert services.link_conversations(sup, incident, [Conversation.objects.get().pk]) == 0


def test_incident_pages_open_from_an_alert_and_run_the_workflow(acme, client):
    alert = _alert(acme)
    client.force_login(acme["users"]["supervisor"])
    r = client.post("/war-room/incidents/open/", {"alert_id": alert.pk})
    incident = Incident.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/war-room/incidents/{incident.pk}/"
    page = client.get(r["Location"]).content.decode()
    assert "every reply on Acme Air needs approval" in page
    client.post(f"/war-room/incidents/{incident.pk}/draft/", {"text": "Holding <b>statement</b>"})
    client.post(f"/war-room/incidents/{incident.pk}/approve/")
    client.post(f"/war-room/incidents/{incident.pk}/close/", {"summary": "done"})
    incident.refresh_from_db()
    assert incident.status == "closed" and incident.statement_state == "approved"
    page = client.get(f"/war-room/incidents/{incident.pk}/").content.decode()
    assert "Holding &lt;b&gt;statement&lt;/b&gt;" in page
    war_room = client.get("/war-room/").content.decode()
    assert "INCIDENT" not in war_room


def test_incidents_of_another_organisation_are_not_found(acme, make_org, client, scope_of):
    other = make_org("globex", brands=("Globex",))
    inc = services.open_incident(scope_of(other["users"]["supervisor"]), other["brands"]["Globex"].pk, "g")
    client.force_login(acme["users"]["admin"])
    assert client.get(f"/war-room/incidents/{inc.pk}/").status_code == 404
    assert client.post(f"/war-room/incidents/{inc.pk}/close/").status_code == 404
    assert client.get(f"/api/v1/listening/incidents/{inc.pk}").status_code == 404
    assert services.active_incident(other["brands"]["Globex"].pk) == inc


def test_incident_api(acme, client):
    alert = _alert(acme)
    client.force_login(acme["users"]["supervisor"])
    r = client.post(
        "/api/v1/listening/incidents",
        {"brand_id": acme["brands"]["Acme Air"].pk, "alert_id": alert.pk},
        content_type="application/json",
    )
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "open" and body["timeline"][0]["verb"] == "opened"
    closed = client.post(f"/api/v1/listening/incidents/{body['id']}/close", {}, content_type="application/json")
    assert closed.json()["status"] == "closed" and closed.json()["report"]["duration_minutes"] >= 0


# ------------------------------------------------------------------ temperature


def test_temperature_check_page_and_api(acme, make_event, ingest, client):
    air = acme["brands"]["Acme Air"]
    air.hashtags = ["#AcmeMoments"]
    air.save()
    ingest(
        acme["org"],
        [make_event(f"@AcmeAir terrible delay again, worst airline #fail {i}", author=f"n{i}") for i in range(12)]
        + [make_event("@AcmeAir #AcmeMoments awful, lost my bag", author="m")],
    )
    client.force_login(acme["users"]["analyst"])
    r = client.post(
        "/api/v1/listening/temperature",
        {"brand_id": air.pk, "idea": "#AskAcme about delay"},
        content_type="application/json",
    )
    assert r.status_code == 200
    data = r.json()
    assert 0 <= data["score"] <= 100 and data["reasons"]
    assert any("question-style hashtag" in reason for reason in data["reasons"])
    assert data["brand_stats"]["recent_total"] == 13
    assert data["past_hashtags"][0]["hashtag"] == "#AcmeMoments"
    page = client.get(f"/listening/temperature/?brand={air.pk}&idea=%23AskAcme").content.decode()
    assert "question-style hashtag" in page and "Around Acme Air" in page


def test_without_a_baseline_the_check_compares_nothing_and_says_when_there_will_be_one(
    acme, make_event, ingest, client
):
    air = acme["brands"]["Acme Air"]
    ingest(acme["org"], [make_event(f"@AcmeAir terrible delay, worst airline {i}", author=f"n{i}") for i in range(40)])
    client.force_login(acme["users"]["analyst"])
    page = client.get(f"/listening/temperature/?brand={air.pk}&idea=summer").content.decode()
    assert "no baseline yet" in page and "a baseline exists from" in page
    assert "usual daily volume" not in page and "than usual" not in page


def test_temperature_check_of_another_organisations_brand_is_not_found(acme, make_org, client):
    other = make_org("globex", brands=("Globex",))
    client.force_login(acme["users"]["analyst"])
    r = client.post(
        "/api/v1/listening/temperature",
        {"brand_id": other["brands"]["Globex"].pk, "idea": "#x"},
        content_type="application/json",
    )
    assert r.status_code == 404


def test_during_an_incident_every_reply_on_the_brand_needs_approval(acme, make_event, ingest, scope_of):
    from hubbub.inbox.models import Conversation
    from hubbub.workflow.services.approvals import approval_reasons

    ingest(acme["org"], [make_event("@AcmeAir where is my bag", author="q")])
    conv = Conversation.objects.get()
    air = acme["brands"]["Acme Air"]
    assert not any("incident" in r for r in approval_reasons("agent", conv, air.pk, "On it!"))
    incident = services.open_incident(scope_of(acme["users"]["supervisor"]), air.pk, "Bags")
    assert any("incident" in r for r in approval_reasons("agent", conv, air.pk, "On it!"))
    services.close_incident(scope_of(acme["users"]["supervisor"]), incident)
    assert not any("incident" in r for r in approval_reasons("agent", conv, air.pk, "On it!"))


def test_alert_rules_are_for_supervisors_and_validated(acme, client, scope_of):
    from hubbub.inputs import checked
    from hubbub.listening.inputs import AlertRuleIn
    from hubbub.listening.models import AlertRule

    with pytest.raises(PermissionDenied):
        services.save_alert_rule(scope_of(acme["users"]["analyst"]), None, AlertRuleIn(name="x"))
    with pytest.raises(ValueError, match="Quiet hours are hours of the day"):
        checked(AlertRuleIn, name="x", quiet_start=25, quiet_end=6)
    client.force_login(acme["users"]["supervisor"])
    r = client.post(
        "/listening/rules/",
        {
            "name": "Night watch",
            "brand_id": acme["brands"]["Acme Air"].pk,
            "sensitivity": "1.5",
            "min_volume": "20",
            "quiet_start": "22",
            "quiet_end": "7",
            "quiet_mode": "defer",
            "email_to": "a@example.com, b@example.com",
            "webhook_url": "https://hooks.example.com/x",
            "is_active": "on",
        },
    )
    assert r.status_code == 302
    rule = AlertRule.objects.get()
    assert (rule.sensitivity, rule.min_volume, rule.quiet_start, rule.quiet_end) == (1.5, 20, 22, 7)
    assert rule.email_to == ["a@example.com", "b@example.com"]
    client.force_login(acme["users"]["analyst"])
    assert client.post("/listening/rules/", {"name": "x"}).status_code == 403


def test_linked_conversations_can_get_progress_updates_through_the_workflow(acme, make_event, ingest, scope_of):
    from hubbub.inbox.models import Conversation
    from hubbub.workflow import issues

    ingest(acme["org"], [make_event("@AcmeAir app down", author="x"), make_event("@AcmeAir down?", author="y")])
    sup = scope_of(acme["users"]["supervisor"])
    incident = services.open_incident(sup, acme["brands"]["Acme Air"].pk, "App outage")
    services.link_conversations(sup, incident, list(Conversation.objects.values_list("id", flat=True)))
    issue_id = services.track_as_issue(sup, incident)
    issue = issues.TrackedIssue.objects.get(pk=issue_id)
    assert issue.title == "App outage" and issue.conversations.count() == 2
    assert incident.timeline.filter(verb="issue.created").exists()


def test_the_listening_page_shows_each_querys_matches_of_the_last_week(acme, make_event, ingest, client, scope_of):
    import time_machine

    q = services.save_query(
        scope_of(acme["users"]["analyst"]), brand_id=acme["brands"]["Acme Air"].pk, name="Bags", query="bag*"
    )
    ingest(acme["org"], [make_event("lost my bag", author="a"), make_event("bags late", author="b")])
    client.force_login(acme["users"]["analyst"])
    with time_machine.travel("2026-11-03T12:00:00Z", tick=False):
        html = client.get("/listening/").content.decode()
    assert f'href="/listening/queries/{q.pk}/">Bags</a></td><td><code>bag*</code></td><td>2</td>' in html


def test_a_rule_from_the_api_or_the_blank_form_has_the_detectors_evidence_floor(acme, client):
    """The API once defaulted to 18 negatives, the model to 5: a rule made through the API then never fired
    for a mid-size brand's slow burst, while the same rule made elsewhere did."""
    from hubbub.listening.models import AlertRule

    client.force_login(acme["users"]["supervisor"])
    r = client.post("/api/v1/listening/alert-rules", {"name": "From the API"}, content_type="application/json")
    assert r.status_code == 201, r.content
    made_by_model = AlertRule(name="model")
    assert r.json()["min_volume"] == made_by_model.min_volume == AlertRule.objects.get().min_volume
    page = client.get("/listening/").content.decode()
    blank_form = page[page.index("Add a rule") :]
    assert f'name="min_volume" type="number" min="1" value="{made_by_model.min_volume}"' in blank_form
